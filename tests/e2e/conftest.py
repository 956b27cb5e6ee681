"""Running the product as a user types it: the installed `hanbit-drill` command, from a fresh directory
holding only what a fresh clone has at its root that the commands read (`scenarios.yaml`), with the
default options (relative `runs`, `.hanbit/data`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the tests import with importlib: make doc_examples importable
from as_user import fresh_checkout, shell, user_env  # noqa: E402
from doc_examples import Step, transcripts  # noqa: E402

SERVE_PORT = 8080  # `hanbit-drill serve`'s default: the docs' examples name it


@dataclass
class Typed:
    step: Step
    result: subprocess.CompletedProcess[str]


@dataclass
class Session:
    cwd: Path
    typed: list[Typed]

    @property
    def runs(self) -> Path:
        return self.cwd / "runs"


@pytest.fixture(scope="session")
def first_five_minutes(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The README's transcript, each command run in order in one fresh directory (it includes
    `hanbit-drill run`: the smoke suite's three drills)."""
    (steps,) = transcripts()
    cwd = fresh_checkout(tmp_path_factory.mktemp("first-five-minutes"))
    typed = [Typed(step, shell(step.command, cwd, timeout=600)) for step in steps]
    return Session(cwd, typed)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Served:
    cwd: Path
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`hanbit-drill serve`, typed in a fresh directory and left running, as the docs' examples have it."""
    if not port_free(SERVE_PORT):
        pytest.skip(f"port {SERVE_PORT} is in use on this machine: the examples that name it cannot run")
    cwd = fresh_checkout(tmp_path_factory.mktemp("served"))
    log = (cwd / "serve.log").open("w")
    proc = subprocess.Popen(["bash", "-c", "exec hanbit-drill serve"], cwd=cwd, env=user_env(),
                            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # printed once every worker serves
        assert url == f"http://127.0.0.1:{SERVE_PORT}", (url, (cwd / "serve.log").read_text()[-2000:])
        yield Served(cwd, url)
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as the docs say
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        deadline = time.monotonic() + 10
        while not port_free(SERVE_PORT) and time.monotonic() < deadline:
            time.sleep(0.1)
