"""Targets for the load runner's tests: the bundled service, and a controllable stand-in."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loadtests.runner import free_port
from service.launcher import ServiceProcess

FAKE = Path(__file__).with_name("fake_service.py")


@dataclass
class FakeService:
    url: str
    proc: subprocess.Popen[bytes]

    def stall(self, seconds: float) -> None:
        httpx.post(f"{self.url}/__control/stall?seconds={seconds}", timeout=5).raise_for_status()

    def fail(self, status: int, seconds: float) -> None:
        httpx.post(f"{self.url}/__control/fail?status={status}&seconds={seconds}", timeout=5).raise_for_status()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def fake_service() -> Iterator[FakeService]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(FAKE), str(port)], stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the fake service did not start") from None
                time.sleep(0.1)
        yield FakeService(url, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(5)


@pytest.fixture(scope="module")
def bundled_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real bundled service (one worker, cheap password hashing to keep sign-ups quick)."""
    svc = ServiceProcess(tmp_path_factory.mktemp("service"), port=0, workers=1, password_cost_log2=10)
    url = svc.start(timeout_s=120)  # the machine may be busy
    try:
        yield url
    finally:
        svc.stop()
