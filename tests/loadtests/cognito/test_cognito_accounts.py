"""The load's Cognito accounts, from the harness: created with the drill's prefix, confirmed, signed in,
reused by the next run, refused clearly where the app client cannot serve the load, removed by cleanup."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest
from botocore.stub import Stubber
from pydantic import ValidationError

from chaos.targets import AwsTarget, BundledTarget
from common.errors import TargetError
from loadtests.accounts import ACCOUNTS_FILE, AccountPool
from loadtests.cognito import CognitoAccounts, remove_drill_accounts
from loadtests.plan import BundledAuth, CognitoAuth, LoadPlan
from loadtests.session import Account
from scenarios.drill_load import for_target
from scenarios.target_session import load_auth

if TYPE_CHECKING:
    from conftest import MotoTokens, Pool, RunningApi


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_pool_is_created_confirmed_with_the_prefix_and_signed_in(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, tmp_path: Path) -> None:
    signed = AccountPool(cognito_api.url, tmp_path, 3, auth=pool.auth).prepare()

    assert pool.usernames() == ["hanbit-drill-00000", "hanbit-drill-00001", "hanbit-drill-00002"]
    for name in pool.usernames():
        user = pool.client.admin_get_user(UserPoolId=pool.auth.user_pool_id, Username=name)
        assert user["UserStatus"] == "CONFIRMED" and user["Enabled"]  # no NEW_PASSWORD_REQUIRED challenge
    assert moto_tokens.password_sign_ins == 3
    for account in signed:
        # The ID token (what the reference stack's authorizer validates), for the pool's app client.
        token = claims(account.token or "")
        assert token["token_use"] == "id" and token["aud"] == pool.auth.client_id
        assert token["cognito:username"] == account.username
        assert account.refresh_token and account.lifetime_s == 3600 and account.issued_at
    # The passwords are set anew every run: none is written to the run directory.
    saved = json.loads((tmp_path / ACCOUNTS_FILE).read_text())
    assert [a["password"] for a in saved["accounts"]] == ["", "", ""]
    assert cognito_api.app.auth_endpoint_calls == 0


def test_the_next_run_reuses_the_accounts_with_a_new_password(pool: Pool, cognito_api: RunningApi,
                                                              tmp_path: Path) -> None:
    first = AccountPool(cognito_api.url, tmp_path / "run-1", 2, auth=pool.auth)
    first.prepare(sign_in=False)
    second = AccountPool(cognito_api.url, tmp_path / "run-2", 3, auth=pool.auth)
    signed = second.prepare()

    assert pool.usernames() == ["hanbit-drill-00000", "hanbit-drill-00001", "hanbit-drill-00002"]
    assert second.run_id != first.run_id  # each run's todo ids still carry its own run id
    assert all(a.token for a in signed)
    accounts = CognitoAccounts(pool.auth, client=pool.client)
    with pytest.raises(TargetError, match="NotAuthorizedException"):  # the first run's password is gone
        accounts.tokens("hanbit-drill-00000", first.accounts[0].password)
    # Fresh tokens for the same accounts later on (the read-back after a long drill).
    again = second.sign_in()
    assert [a.username for a in again] == [a.username for a in signed]
    assert all(a.token and a.token != b.token for a, b in zip(again, signed, strict=True))


@pytest.mark.parametrize(("flows", "secret", "says"), [
    (["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], False, "does not allow USER_PASSWORD_AUTH"),
    (["ALLOW_USER_PASSWORD_AUTH"], False, "does not allow refreshing tokens"),
    (["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], True, "has a client secret"),
])
def test_an_app_client_the_load_cannot_use_is_refused_before_any_account_is_made(
        make_pool: Callable[..., Pool], flows: list[str], secret: bool, says: str) -> None:
    bad = make_pool(flows=flows, secret=secret)
    with pytest.raises(TargetError, match=says) as refused:
        CognitoAccounts(bad.auth, client=bad.client).prepare([Account(username="hanbit-drill-00000",
                                                                      password="Hd7-long-enough-pw")], True)
    assert f"app client {bad.auth.client_id}" in str(refused.value)
    assert bad.usernames() == []


def test_without_the_right_to_describe_the_client_the_sign_in_error_says_what_to_allow(pool: Pool) -> None:
    # moto does not enforce a client's flows; Cognito answers so for a client without USER_PASSWORD_AUTH.
    stubber = Stubber(pool.client)
    params = {"UserPoolId": pool.auth.user_pool_id, "Username": "hanbit-drill-00000"}
    stubber.add_client_error("describe_user_pool_client", "AccessDeniedException", "not authorized")
    stubber.add_response("admin_create_user", {"User": {"Username": "hanbit-drill-00000"}},
                         {**params, "MessageAction": "SUPPRESS"})
    stubber.add_response("admin_set_user_password", {}, {**params, "Password": "Hd7-long-enough-pw", "Permanent": True})
    stubber.add_client_error("initiate_auth", "InvalidParameterException",
                             "USER_PASSWORD_AUTH flow not enabled for this client")
    with stubber, pytest.raises(TargetError) as refused:
        CognitoAccounts(pool.auth, client=pool.client).prepare(
            [Account(username="hanbit-drill-00000", password="Hd7-long-enough-pw")], True)
    assert "refused USER_PASSWORD_AUTH" in str(refused.value) and "ALLOW_USER_PASSWORD_AUTH" in str(refused.value)


def test_creating_accounts_without_the_right_says_which_permission(pool: Pool) -> None:
    stubber = Stubber(pool.client)
    stubber.add_response("describe_user_pool_client", {"UserPoolClient": {"ExplicitAuthFlows": REFERENCE}})
    stubber.add_client_error("admin_create_user", "AccessDeniedException", "User is not authorized")
    with stubber, pytest.raises(TargetError, match="cognito-idp:AdminCreateUser on the pool"):
        CognitoAccounts(pool.auth, client=pool.client).prepare(
            [Account(username="hanbit-drill-00000", password="Hd7-long-enough-pw")], True)


REFERENCE = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def test_cleanup_removes_the_drills_accounts_and_no_other(pool: Pool, cognito_api: RunningApi, tmp_path: Path) -> None:
    AccountPool(cognito_api.url, tmp_path, 3, auth=pool.auth).prepare(sign_in=False)
    for other in ("alice", "hanbit-drill", "hanbit-drillx-1"):
        pool.client.admin_create_user(UserPoolId=pool.auth.user_pool_id, Username=other, MessageAction="SUPPRESS")

    removed = remove_drill_accounts(pool.auth, client=pool.client)

    assert sorted(removed) == ["hanbit-drill-00000", "hanbit-drill-00001", "hanbit-drill-00002"]
    assert pool.usernames() == ["alice", "hanbit-drill", "hanbit-drillx-1"]
    assert remove_drill_accounts(pool.auth, client=pool.client) == []


def test_an_aws_target_names_its_pool_and_the_load_signs_in_there() -> None:
    target = AwsTarget(api_url="https://abc.execute-api.ap-northeast-2.amazonaws.com/prod",
                       cognito={"user_pool_id": "ap-northeast-2_AbC123", "client_id": "3n4b5urk1ft4fl3mg5e62d9ado"})
    auth = load_auth(target)
    assert auth == CognitoAuth(user_pool_id="ap-northeast-2_AbC123", client_id="3n4b5urk1ft4fl3mg5e62d9ado")
    assert auth is not None and auth.idp_url == "https://cognito-idp.ap-northeast-2.amazonaws.com/"
    plan = LoadPlan(rps=10)
    assert for_target(plan, target).auth == auth
    assert for_target(plan.model_copy(update={"auth": BundledAuth()}), target).auth == BundledAuth()  # the plan's own
    assert for_target(plan, BundledTarget()).auth is None  # the bundled service's /auth endpoints
    assert load_auth(AwsTarget(api_url="https://x.example/prod")) is None
    with pytest.raises(ValidationError, match="is in ap-northeast-2, not us-east-1"):
        AwsTarget(api_url="https://x.example/prod",
                  cognito={"user_pool_id": "ap-northeast-2_AbC123", "client_id": "c", "region": "us-east-1"})


def test_the_workers_never_import_boto3() -> None:
    """`import locust` patches with gevent, a hazard for boto3: the worker's modules renew over plain HTTPS."""
    code = ("import sys, loadtests.worker_node, loadtests.signin, loadtests.journeys; "
            "sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[3]).returncode == 0
