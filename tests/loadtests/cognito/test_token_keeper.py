"""A worker's side of Cognito (under gevent, as in a Locust worker): InitiateAuth over plain HTTPS from
the load's own client, and the keeper that renews each account's token before it expires, on a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gevent
import jwt
import pytest

from loadtests.accounts import AccountPool
from loadtests.http_pool import HttpPool, HttpResult
from loadtests.journeys import AccountAuth
from loadtests.runner import free_port
from loadtests.signin import BundledWire, CognitoWire, TokenKeeper, obtain
from loadtests.tokens import RENEW_FROM, RENEW_TO

if TYPE_CHECKING:
    from conftest import FakeService, MotoTokens, Pool, RunningApi

HOUR = 3600.0


def signed_in(pool: Pool, api: RunningApi, tmp_path: Path, size: int = 1) -> list[AccountAuth]:
    """Accounts as a worker holds them: signed in by the harness, tokens in the session."""
    return [AccountAuth.of(a) for a in AccountPool(api.url, tmp_path, size, auth=pool.auth).prepare()]


def send(wire: CognitoWire) -> Callable[[bytes], HttpResult]:
    return lambda body: wire.pool.request("POST", wire.path, time.time() + 10, body)


def test_the_wire_signs_in_with_the_password_and_refreshes_with_the_refresh_token(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, tmp_path: Path) -> None:
    (auth,) = signed_in(pool, cognito_api, tmp_path)
    wire = CognitoWire(pool.auth)

    refreshed = obtain(wire, auth, send(wire))
    assert refreshed is not None and moto_tokens.refreshes == 1 and moto_tokens.password_sign_ins == 1
    assert refreshed.token != auth.token and refreshed.refresh_token is None  # the old refresh token stays
    assert jwt.decode(refreshed.token, options={"verify_signature": False})["token_use"] == "id"
    assert refreshed.lifetime_s == HOUR

    auth.refresh_token = None  # e.g. a storm user's first sign-in
    signed = obtain(wire, auth, send(wire))
    assert signed is not None and signed.refresh_token and moto_tokens.password_sign_ins == 2


def test_the_keeper_renews_each_token_at_70_to_80_percent_of_its_lifetime(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, tmp_path: Path) -> None:
    auths = signed_in(pool, cognito_api, tmp_path, size=3)
    now = [0.0]
    issued = [(a.expires_at or 0) - HOUR for a in auths]  # when the harness received them
    keeper = TokenKeeper(CognitoWire(pool.auth), 10, clock=lambda: now[0])
    for a in auths:
        keeper.watch(a)
    before = {a.username: (a.token, a.refresh_token) for a in auths}

    now[0] = min(issued) + RENEW_FROM * HOUR - 1  # none due yet
    wait = keeper.renew_due()
    assert wait is not None and 0 < wait and moto_tokens.refreshes == 0

    now[0] = max(issued) + RENEW_TO * HOUR + 1  # every one due: renewed by REFRESH_TOKEN_AUTH, not the password
    keeper.renew_due()
    gevent.wait(timeout=10)
    assert keeper.renewed == 3 and keeper.failed == 0
    assert moto_tokens.refreshes == 3 and moto_tokens.password_sign_ins == 3  # the harness's three only
    for a in auths:
        assert a.token != before[a.username][0] and a.refresh_token == before[a.username][1]
        assert a.renew_at is not None and now[0] + RENEW_FROM * HOUR <= a.renew_at <= now[0] + RENEW_TO * HOUR
        assert a.expires_at == now[0] + HOUR
    # Each is watched once more, for its next renewal.
    assert keeper.renew_due() == pytest.approx(min(a.renew_at or 0 for a in auths) - now[0])


def test_a_revoked_refresh_token_falls_back_to_the_password(
        pool: Pool, cognito_api: RunningApi, moto_tokens: MotoTokens, tmp_path: Path) -> None:
    (auth,) = signed_in(pool, cognito_api, tmp_path)
    pool.client.admin_user_global_sign_out(UserPoolId=pool.auth.user_pool_id, Username=auth.username)
    old_refresh = auth.refresh_token
    now = [auth.renew_at or 0.0]
    keeper = TokenKeeper(CognitoWire(pool.auth), 10, clock=lambda: now[0])
    keeper.watch(auth)

    keeper.renew_due()
    gevent.wait(timeout=10)

    assert keeper.renewed == 1 and moto_tokens.password_sign_ins == 2
    assert auth.refresh_token and auth.refresh_token != old_refresh


def test_a_failed_renewal_is_tried_again_before_the_token_expires(pool: Pool, tmp_path: Path) -> None:
    unreachable = pool.auth.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    auth = AccountAuth("hanbit-drill-00000", "pw", "token", refresh_token="r", issued_at=0.0, lifetime_s=HOUR)
    now = [0.9 * HOUR]  # 360 s left
    keeper = TokenKeeper(CognitoWire(unreachable), 1, clock=lambda: now[0])
    keeper.watch(auth)

    keeper.renew_due()
    gevent.wait(timeout=10)

    assert keeper.failed == 1 and keeper.renewed == 0 and auth.token == "token"
    assert keeper.renew_due() == pytest.approx(30.0)  # a quarter of what is left, at most 30 s


def test_an_identity_of_one_request_is_not_kept(pool: Pool) -> None:
    keeper = TokenKeeper(CognitoWire(pool.auth), 1)
    auth = AccountAuth("u", "pw", "token", issued_at=0.0, lifetime_s=HOUR, keep_fresh=False)
    keeper.watch(auth)
    assert keeper.renew_due() is None and not auth.watched


def test_a_token_without_a_refresh_token_is_renewed_by_signing_in_again(fake_service: FakeService,
                                                                         tmp_path: Path) -> None:
    """The bundled service's tokens expire too (1 h): the same keeper renews them with the password."""
    (account,) = AccountPool(fake_service.url, tmp_path, 1).prepare()
    auth = AccountAuth.of(account)
    assert auth.refresh_token is None and auth.expires_at is not None
    now = [auth.expires_at - 1]
    keeper = TokenKeeper(BundledWire(HttpPool(fake_service.url, 2)), 10, clock=lambda: now[0])
    keeper.watch(auth)

    keeper.renew_due()
    gevent.wait(timeout=10)

    assert keeper.renewed == 1 and auth.token != account.token and auth.renew_at is not None
