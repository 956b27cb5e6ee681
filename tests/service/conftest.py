"""Fixtures: the whole service app in-process (ASGI), with its real SQLite files in a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from service.app import build_gateway
from service.runtime.gateway import Gateway
from service.settings import ServiceSettings


class AsgiClient:
    """A synchronous HTTP client over the ASGI app, with the app's startup/shutdown run around it."""

    def __init__(self, app: Gateway) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(app.startup())
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://service.test")

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, path, **kwargs))

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()


@dataclass(frozen=True)
class User:
    username: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def settings(tmp_path) -> ServiceSettings:
    # A lower scrypt cost keeps the many sign-ins of the tests quick; the scheme is the same.
    return ServiceSettings(data_dir=tmp_path / "data", password_cost_log2=11)


@pytest.fixture
def client_for() -> Iterator[Callable[[ServiceSettings], AsgiClient]]:
    """Build more apps (other settings); each is shut down after the test."""
    made: list[AsgiClient] = []

    def make(settings: ServiceSettings) -> AsgiClient:
        made.append(AsgiClient(build_gateway(settings)))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(settings, client_for) -> AsgiClient:
    return client_for(settings)


@pytest.fixture
def make_user(client: AsgiClient) -> Callable[[str], User]:
    def make(username: str, password: str = "correct horse battery") -> User:
        r = client.post("/auth/signup", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        r = client.post("/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return User(username, password, r.json()["access_token"])

    return make
