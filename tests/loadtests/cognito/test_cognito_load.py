"""A load against an aws target that names a Cognito pool: its accounts are created and signed in through
Cognito (moto), every request carries an ID token the API's authorizer accepts, and tokens that expire
during the run are renewed before they do (REFRESH_TOKEN_AUTH from the worker): no 401 of our own making."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jwt

from loadtests.plan import LoadPlan
from loadtests.runner import LoadRunner
from scenarios.cli import main

if TYPE_CHECKING:
    from conftest import MotoTokens, Pool, RunningApi

LIFETIME_S = 12  # tokens expire during the run, so the run lives through renewals


def test_a_load_against_an_aws_target_signs_in_through_cognito_and_renews_its_tokens(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, token_lifetime: Callable[[int], None],
        tmp_path: Path) -> None:
    token_lifetime(LIFETIME_S)
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(f"""\
version: 1
defaults:
  load: {{rps: 20}}
targets:
  staging:
    kind: aws
    api_url: {cognito_api.url}
    cognito: {{user_pool_id: {pool.auth.user_pool_id}, client_id: {pool.auth.client_id},
               endpoint_url: "{pool.auth.endpoint_url}"}}
scenarios:
  quiet:
    checks: [slo-baseline]
""")
    summary = tmp_path / "summary.json"
    code = main(["load", "--file", str(scenarios), "--target", "staging", "--rps", "20", "--duration", "20s",
                 "--accounts", "3", "--json", str(summary), "--run-dir", str(tmp_path / "run")])

    assert code == 0
    result = json.loads(summary.read_text())
    api = cognito_api.app
    assert result["requests"] == 400
    # Signed in through Cognito only: the pool holds the drill's accounts, the API's own /auth was never asked.
    assert pool.usernames() == ["hanbit-drill-00000", "hanbit-drill-00001", "hanbit-drill-00002"]
    assert api.auth_endpoint_calls == 0 and moto_tokens.password_sign_ins == 3
    # Every account's token expired at least once during the run; each was renewed before it did, from
    # the worker with its refresh token: the API never saw an expired (or any other bad) token.
    assert moto_tokens.refreshes >= 3
    assert sorted(api.tokens_of) == pool.usernames()
    assert all(len(tokens) >= 2 for tokens in api.tokens_of.values()), api.tokens_of
    assert api.rejected == []
    assert "http_401" not in result["failures"]
    # The session (passwords, refresh tokens) does not stay in the run directory.
    assert not (tmp_path / "run" / "load-session.json").exists()


def test_a_sign_in_storm_signs_every_user_in_through_cognito_as_requests_of_the_load(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, tmp_path: Path) -> None:
    plan = LoadPlan(model="closed", users=4, think_time_s=0.5, duration_s=4, accounts=2, signin_storm=True,
                    auth=pool.auth)
    runner = LoadRunner(cognito_api.url, plan, tmp_path)
    try:
        runner.start()
        summary = runner.wait(60)
        signed_in_during_the_run = moto_tokens.password_sign_ins
        tokens = runner.sign_in()  # what a read-back after the run signs in with
    finally:
        runner.stop()

    # The harness only made the accounts; each simulated user signed in itself, from its worker.
    assert signed_in_during_the_run == 4
    assert cognito_api.app.rejected == [] and cognito_api.app.auth_endpoint_calls == 0
    assert sorted(cognito_api.app.tokens_of) == pool.usernames() == ["hanbit-drill-00000", "hanbit-drill-00001"]
    # Measured like any request: 4 users x 8 paced requests, and each user's sign-in in its first slot.
    assert summary.requests == 32 + 4 and summary.error_rate == 0
    assert sum(len(tokens) for tokens in cognito_api.app.tokens_of.values()) == 4
    assert sorted(tokens) == pool.usernames()
    assert all(jwt.decode(t, options={"verify_signature": False})["cognito:username"] == u for u, t in tokens.items())
