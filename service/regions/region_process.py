"""One region's server processes, and what an outage does to them.

- refuse: every process of the region is killed (SIGKILL, as a lost region gives no
  notice), so its port is closed and connections are refused;
- blackhole: every process is frozen (SIGSTOP); the kernel still accepts connections
  into the listen backlog, but nothing ever answers, so clients time out;
- up: frozen processes resume (SIGCONT); killed ones are started again on the same port
  and data directory, and the region counts as up once it answers.
"""

from __future__ import annotations

import http.client
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from service.control.state import RegionStatus
from service.errors import ServiceStartError
from service.tls import probe_context

READY_PATH = "/openapi.json"


class RegionStartError(ServiceStartError):
    """A region's server did not come up (the message carries its last output)."""


def answers(port: int, path: str = READY_PATH, timeout_s: float = 1.0, *, tls: bool = False) -> bool:
    """`tls`: the server speaks HTTPS (encrypted, not verified: see service.tls)."""
    conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout_s, context=probe_context()) if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s))
    try:
        conn.request("GET", path)
        return conn.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _running(proc: psutil.Process) -> bool:
    """Alive and not (yet) frozen."""
    try:
        return proc.status() not in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


class RegionProcess:
    def __init__(self, name: str, command: list[str], *, port: int, env: Mapping[str, str] | None = None,
                 log_file: Path, start_timeout_s: float = 60.0, tls: bool = False) -> None:
        self.name = name
        self.tls = tls
        self.command = command
        self.port = port
        self.env = dict(env) if env is not None else None
        self.log_file = Path(log_file)
        self.start_timeout_s = start_timeout_s
        self.status = RegionStatus.REFUSE  # nothing runs until start()
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def processes(self) -> list[psutil.Process]:
        """The region's server and every process it started."""
        if self._popen is None:
            return []
        try:
            root = psutil.Process(self._popen.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def start(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            raise RegionStartError(f"region {self.name} is already running (pid {self._popen.pid})")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self._popen = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise RegionStartError(f"region {self.name} exited with {self._popen.returncode} while starting;"
                                       f" last output:\n{self._tail()}")
            if answers(self.port, tls=self.tls):
                self.status = RegionStatus.UP
                return
            time.sleep(0.05)
        self.kill()
        raise RegionStartError(f"region {self.name} did not answer on port {self.port} within "
                               f"{self.start_timeout_s:g} s; last output:\n{self._tail()}")

    def _signal(self, sig: signal.Signals) -> list[psutil.Process]:
        procs = self.processes()
        for proc in procs:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        return procs

    def kill(self) -> None:
        procs = self._signal(signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait(timeout=5)
        # A killed process has closed its sockets even before it is reaped: once every one is dead
        # or a zombie (the workers are orphans now, reaped by init), the port refuses connections.
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in procs) and time.monotonic() < deadline:
            time.sleep(0.005)
        self.status = RegionStatus.REFUSE

    def freeze(self) -> None:
        procs = self._signal(signal.SIGSTOP)
        # A process runs no more of its own code once SIGSTOP is sent, but only shows as stopped when
        # it next gets a CPU to act on it, which on a busy machine can be well after kill() returned.
        # As kill() waits for death, wait for that, so the region is seen frozen (ps, psutil, a
        # drill's report) as soon as the blackhole is reported.
        deadline = time.monotonic() + 5
        while any(_running(p) for p in procs) and time.monotonic() < deadline:
            time.sleep(0.005)
        self.status = RegionStatus.BLACKHOLE

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)
        self.status = RegionStatus.UP

    def set_status(self, status: RegionStatus) -> None:
        if status is self.status:
            return
        if status is RegionStatus.REFUSE:
            self.kill()
        elif status is RegionStatus.BLACKHOLE:
            if self.status is RegionStatus.REFUSE:
                self.start()
            self.freeze()
        elif self.status is RegionStatus.BLACKHOLE:
            self.thaw()
        else:
            self.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Shut down for good: a graceful SIGTERM, then SIGKILL for whatever is left."""
        procs = self.processes()
        if not procs:
            return
        for proc in procs:
            try:
                proc.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            except psutil.NoSuchProcess:
                pass
        self._signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=timeout_s)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        if self._popen is not None:
            try:
                self._popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.status = RegionStatus.REFUSE

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"
