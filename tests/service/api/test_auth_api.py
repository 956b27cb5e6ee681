"""Sign-up, sign-in, revocation, every auth failure mode, and the sign-in lockout."""

from __future__ import annotations

import time

import jwt
import orjson
import pytest

from service.app import build_gateway
from service.settings import ServiceSettings


def _log_lines(settings: ServiceSettings, client) -> list[dict]:
    client.app.log.flush()
    return [orjson.loads(line) for line in settings.log_file.read_bytes().splitlines()]


def test_signup_then_token_gives_a_signed_jwt(client, settings) -> None:
    r = client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    assert r.status_code == 201 and r.json() == {"username": "alice"}
    r = client.post("/auth/token", json={"username": "alice", "password": "s3cret-pass"})
    assert r.status_code == 200
    answer = r.json()
    assert set(answer) == {"access_token", "token_type", "expires_in"}
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == settings.token_ttl_s
    key = settings.key_file.read_bytes().strip()
    claims = jwt.decode(answer["access_token"], key, algorithms=["HS256"], issuer=settings.issuer)
    assert {"sub", "exp", "iat", "jti", "iss"} <= set(claims)
    assert claims["exp"] - claims["iat"] == settings.token_ttl_s
    assert claims["username"] == "alice"


def test_signing_key_is_private_and_per_data_dir(client, settings, tmp_path) -> None:
    assert settings.key_file.stat().st_mode & 0o777 == 0o600
    other = ServiceSettings(data_dir=tmp_path / "other", password_cost_log2=11)
    build_gateway(other)
    assert other.key_file.read_bytes() != settings.key_file.read_bytes()


def test_passwords_are_stored_only_as_salted_scrypt(client, settings) -> None:
    import sqlite3

    for name in ("alice", "bob"):
        client.post("/auth/signup", json={"username": name, "password": "same-password"})
    with sqlite3.connect(settings.users_db) as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # salted
    assert all(h.startswith("scrypt$11$") and "same-password" not in h for h in hashes)


def test_duplicate_signup_is_409(client) -> None:
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    r = client.post("/auth/signup", json={"username": "alice", "password": "other-pass"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "user_exists"


@pytest.mark.parametrize("username,password", [("alice", "wrong-password"), ("nobody", "s3cret-pass")])
def test_wrong_password_or_unknown_user_is_401(client, username, password) -> None:
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    r = client.post("/auth/token", json={"username": username, "password": password})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"


def _assert_401(r) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_missing_and_malformed_token_are_401(client) -> None:
    _assert_401(client.get("/todos"))
    _assert_401(client.get("/todos", headers={"Authorization": "Basic YWxpY2U6eA=="}))
    _assert_401(client.get("/todos", headers={"Authorization": "Bearer"}))
    _assert_401(client.get("/todos", headers={"Authorization": "Bearer not.a.jwt"}))


def test_forged_token_is_401(client, make_user, settings) -> None:
    alice = make_user("alice")
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "someone-else"}, "a-guessed-key-that-is-long-enough-for-hs256", algorithm="HS256")
    _assert_401(client.get("/todos", headers={"Authorization": f"Bearer {forged}"}))
    unsigned = jwt.encode(claims, None, algorithm="none")
    _assert_401(client.get("/todos", headers={"Authorization": f"Bearer {unsigned}"}))
    # right key, wrong issuer
    key = settings.key_file.read_bytes().strip()
    other_iss = jwt.encode({**claims, "iss": "elsewhere"}, key, algorithm="HS256")
    _assert_401(client.get("/todos", headers={"Authorization": f"Bearer {other_iss}"}))


def test_expired_token_is_401(client, make_user, settings) -> None:
    alice = make_user("alice")
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    key = settings.key_file.read_bytes().strip()
    past = int(time.time()) - 10
    expired = jwt.encode({**claims, "iat": past - 60, "exp": past}, key, algorithm="HS256")
    r = client.get("/todos", headers={"Authorization": f"Bearer {expired}"})
    _assert_401(r)
    assert "expired" in r.json()["error"]["message"]


def test_token_expires_even_after_it_was_accepted(tmp_path, client_for) -> None:
    client = client_for(ServiceSettings(data_dir=tmp_path / "d", password_cost_log2=11, token_ttl_s=1))
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    token = client.post("/auth/token", json={"username": "alice", "password": "s3cret-pass"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/todos", headers=auth).status_code == 200
    deadline = time.time() + 5
    while client.get("/todos", headers=auth).status_code == 200 and time.time() < deadline:
        time.sleep(0.1)
    _assert_401(client.get("/todos", headers=auth))


def test_revoked_token_is_401_and_other_tokens_still_work(client, make_user) -> None:
    alice = make_user("alice")
    second = client.post("/auth/token", json={"username": "alice", "password": alice.password}).json()
    r = client.post("/auth/revoke", headers=alice.auth)
    assert r.status_code == 200
    assert r.json()["revoked"] == jwt.decode(alice.token, options={"verify_signature": False})["jti"]
    _assert_401(client.get("/todos", headers=alice.auth))
    _assert_401(client.post("/auth/revoke", headers=alice.auth))
    ok = client.get("/todos", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert ok.status_code == 200


def test_ten_failures_lock_sign_in_with_429_and_security_events(client, settings) -> None:
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    statuses = [client.post("/auth/token", json={"username": "alice", "password": f"wrong-{i}"}).status_code
                for i in range(10)]
    assert statuses == [401] * 10
    for password in ("wrong-again", "s3cret-pass"):  # locked: even the right password is refused
        r = client.post("/auth/token", json={"username": "alice", "password": password})
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
        assert 1 <= int(r.headers["retry-after"]) <= settings.signin_lockout_s
    # another user is not affected
    client.post("/auth/signup", json={"username": "bob", "password": "s3cret-pass"})
    assert client.post("/auth/token", json={"username": "bob", "password": "s3cret-pass"}).status_code == 200
    lines = [line for line in _log_lines(settings, client) if line["function"] == "signIn"]
    events = [line["metadata"].get("securityEvent") for line in lines]
    assert events[:10] == ["failed_signin"] * 9 + ["signin_lockout"]
    assert events[10:12] == ["signin_refused_locked"] * 2
    for line in lines[:12]:
        assert line["level"] == "WARN" and line["metadata"]["username"] == "alice"
    assert lines[10]["metadata"]["status"] == 429


def test_lockout_ends_and_success_resets_failures(tmp_path, client_for) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "d", password_cost_log2=11, signin_max_failures=3,
                               signin_lockout_s=0.5)
    client = client_for(settings)
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    good = {"username": "alice", "password": "s3cret-pass"}
    bad = {"username": "alice", "password": "wrong-pass"}
    assert [client.post("/auth/token", json=bad).status_code for _ in range(2)] == [401, 401]
    assert client.post("/auth/token", json=good).status_code == 200  # resets the count
    assert [client.post("/auth/token", json=bad).status_code for _ in range(3)] == [401, 401, 401]
    assert client.post("/auth/token", json=good).status_code == 429
    time.sleep(0.6)
    assert client.post("/auth/token", json=good).status_code == 200
