"""Cognito for the load's tests: moto's cognito-idp as a server on loopback (the Locust workers reach it
over HTTP, as they reach Cognito), user pools shaped like deploy/reference-stack.yaml's, and a todo API
that lets through only what an API Gateway Cognito authorizer would: a valid ID token of the pool's app
client. Fake credentials; no real AWS call is ever made."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
import uvicorn
from moto.cognitoidp.models import CognitoIdpUserPool
from moto.server import ThreadedMotoServer
from moto.utilities.utils import load_resource

from loadtests.plan import CognitoAuth
from loadtests.runner import free_port

REGION = "ap-northeast-2"
# deploy/reference-stack.yaml: the pool's password policy and the app client's flows.
PASSWORD_POLICY = {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True, "RequireNumbers": True,
                   "RequireSymbols": False}
REFERENCE_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def _fake_service_module() -> Any:
    spec = importlib.util.spec_from_file_location("hanbit_loadtests_fake_service",
                                                  Path(__file__).parent.parent / "fake_service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FakeTodoService = _fake_service_module().FakeTodoService


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Pool:
    auth: CognitoAuth
    client: Any  # boto3 cognito-idp, at the moto server

    def usernames(self) -> list[str]:
        users = self.client.list_users(UserPoolId=self.auth.user_pool_id)["Users"]
        return sorted(u["Username"] for u in users)


def idp(moto_url: str) -> Any:
    return boto3.client("cognito-idp", region_name=REGION, endpoint_url=moto_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def create_pool(moto_url: str, *, flows: list[str] | None = None, secret: bool = False) -> Pool:
    client = idp(moto_url)
    pool_id = client.create_user_pool(PoolName=f"hanbit-todo-users-{uuid.uuid4().hex[:8]}",
                                      Policies={"PasswordPolicy": PASSWORD_POLICY})["UserPool"]["Id"]
    params: dict[str, Any] = {"UserPoolId": pool_id, "ClientName": "hanbit-todo-web", "GenerateSecret": secret}
    if flows is not None:
        params["ExplicitAuthFlows"] = flows
    client_id = client.create_user_pool_client(**params)["UserPoolClient"]["ClientId"]
    return Pool(CognitoAuth(user_pool_id=pool_id, client_id=client_id, endpoint_url=moto_url), client)


@pytest.fixture
def pool(moto_url: str) -> Pool:
    """A pool and app client as the reference stack makes them."""
    return create_pool(moto_url, flows=REFERENCE_FLOWS)


@pytest.fixture
def make_pool(moto_url: str) -> Callable[..., Pool]:
    """Another pool, its app client made with these `flows` and `secret`."""
    return lambda **client: create_pool(moto_url, **client)


@dataclass
class MotoTokens:
    """What moto's Cognito issued: how often tokens were refreshed and passwords checked."""

    refreshes: int = 0
    password_sign_ins: int = 0


@pytest.fixture
def moto_tokens(monkeypatch: pytest.MonkeyPatch) -> MotoTokens:
    seen = MotoTokens()
    refresh, new_refresh_token = CognitoIdpUserPool.create_tokens_from_refresh_token, CognitoIdpUserPool.create_refresh_token

    def counted_refresh(self: Any, refresh_token: str) -> Any:
        seen.refreshes += 1
        return refresh(self, refresh_token)

    def counted_sign_in(self: Any, client_id: str, username: str) -> Any:  # only a password sign-in makes one
        seen.password_sign_ins += 1
        return new_refresh_token(self, client_id, username)

    monkeypatch.setattr(CognitoIdpUserPool, "create_tokens_from_refresh_token", counted_refresh)
    monkeypatch.setattr(CognitoIdpUserPool, "create_refresh_token", counted_sign_in)
    return seen


@pytest.fixture
def token_lifetime(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make moto issue tokens valid for this many seconds (Cognito's least is 5 minutes; a test has less)."""

    def shorten(seconds: int) -> None:
        original = CognitoIdpUserPool.create_jwt

        def create_jwt(self: Any, client_id: str, username: str, token_use: str, expires_in: int = 3600,
                       extra_data: dict[str, Any] | None = None) -> Any:
            return original(self, client_id, username, token_use, seconds, extra_data)

        monkeypatch.setattr(CognitoIdpUserPool, "create_jwt", create_jwt)

    return shorten


class CognitoTodoApi(FakeTodoService):
    """The todo contract behind a REST API's Cognito authorizer: a request passes with an ID token of the
    pool's app client (moto's signature, issuer, audience, token_use, not expired) and acts as its
    `cognito:username`; anything else is a 401. The API has no /auth endpoints of its own."""

    def __init__(self, auth: CognitoAuth) -> None:
        super().__init__()
        self.key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-public.json")["keys"][0]).key
        self.issuer = f"https://cognito-idp.{auth.pool_region}.amazonaws.com/{auth.user_pool_id}"
        self.client_id = auth.client_id
        self.tokens_of: dict[str, set[str]] = defaultdict(set)  # username -> the ID tokens (jti) it came with
        self.rejected: list[str] = []  # why each 401 was given
        self.auth_endpoint_calls = 0

    async def handle(self, scope: dict[str, Any], body: bytes) -> tuple[int, Any]:
        if scope["path"].startswith("/auth/"):
            self.auth_endpoint_calls += 1
            return 404, {"message": "Missing Authentication Token"}  # what API Gateway answers for no route
        return await super().handle(scope, body)

    def user_of(self, authorization: str) -> str | None:
        token = authorization.removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.key, algorithms=["RS256"], audience=self.client_id, issuer=self.issuer)
        except jwt.PyJWTError as exc:
            self.rejected.append(type(exc).__name__)
            return None
        if claims.get("token_use") != "id":
            self.rejected.append(f"token_use {claims.get('token_use')}")
            return None
        self.tokens_of[claims["cognito:username"]].add(claims["jti"])
        return claims["cognito:username"]


@dataclass
class RunningApi:
    url: str
    app: CognitoTodoApi
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)


@pytest.fixture
def cognito_api(pool: Pool) -> Iterator[RunningApi]:
    """The API on loopback, in a thread of the test process (its counters are read by the test)."""
    app = CognitoTodoApi(pool.auth)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield RunningApi(f"http://127.0.0.1:{port}", app, server, thread)
    finally:
        server.should_exit = True
        thread.join(10)
