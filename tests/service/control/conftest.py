"""A real bundled service (supervisor, two regions, edge, control API) shared by this directory's tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.launcher import ServiceProcess
from service.regions.layout import DeploymentReady

PASSWORD = "correct horse battery"
_names = itertools.count(1)


@dataclass
class Deployment:
    process: ServiceProcess
    data_dir: Path
    ready: DeploymentReady
    control: httpx.Client
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.ready.url

    def token(self, username: str | None = None) -> tuple[str, dict[str, str]]:
        """Sign up a fresh user; returns its name and auth header."""
        name = username or f"user{next(_names)}"
        r = httpx.post(self.url + "/auth/signup", json={"username": name, "password": PASSWORD}, timeout=30)
        assert r.status_code in (201, 409), r.text
        return name, self.sign_in(name)

    def sign_in(self, name: str) -> dict[str, str]:
        r = httpx.post(self.url + "/auth/token", json={"username": name, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return {"authorization": f"Bearer {r.json()['access_token']}"}

    def api(self, method: str, path: str, auth: dict[str, str] | None = None, *, fresh: bool = False,
            timeout: float = 10.0, **kwargs) -> httpx.Response:
        """A request as an ordinary client makes it (a new connection when `fresh`)."""
        if fresh:
            return httpx.request(method, self.url + path, headers=auth, timeout=timeout, **kwargs)
        return self._client.request(method, path, headers=auth, timeout=timeout, **kwargs)

    @property
    def _client(self) -> httpx.Client:
        if not self.clients:
            self.clients.append(httpx.Client(base_url=self.url))
        return self.clients[0]

    def ctl(self, method: str, path: str, body: dict | None = None, **params) -> httpx.Response:
        return self.control.request(method, path, json=body, params=params or None)

    def ok(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        r = self.ctl(method, path, body, **params)
        assert r.status_code < 300, f"{method} {path} -> {r.status_code} {r.text}"
        return r.json()


def start_deployment(data_dir: Path, regions: int = 2, workers: int = 2) -> Deployment:
    process = ServiceProcess(data_dir, port=0, workers=workers, regions=regions, password_cost_log2=11)
    process.start()
    ready = DeploymentReady.read(data_dir)
    assert ready is not None
    token = (data_dir / "admin.token").read_text().strip()
    control = httpx.Client(base_url=ready.control_url, headers={"authorization": f"Bearer {token}"}, timeout=60)
    return Deployment(process, data_dir, ready, control)


def stop_deployment(deployment: Deployment) -> None:
    for client in deployment.clients:
        client.close()
    deployment.control.close()
    deployment.process.stop()


@pytest.fixture(scope="session")  # one deployment for this directory; each test undoes its changes
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    d = start_deployment(tmp_path_factory.mktemp("deployment"))
    d.ok("PUT", "/control/edge", {"interval_s": 0.2, "failure_threshold": 2})
    yield d
    stop_deployment(d)
