"""LoadRunner: drive a LoadPlan against a target from Locust processes, streaming one sample a second.

The caller's process never imports locust (it monkey-patches everything with gevent and breaks boto3):
the master and the workers are subprocesses, and the merged per-second samples come back through the
stream file in the run directory. Typical use:

    runner = LoadRunner("http://127.0.0.1:8080", plan, run_dir)
    runner.start()
    for sample in runner.samples():   # or LoadRunner(..., on_sample=callback)
        ...
    summary = runner.summary()
    runner.stop()
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Self

from common.errors import InvalidInputError, LoadError
from common.tls import read_ca_bundle
from loadtests.accounts import AccountPool
from loadtests.ledger import read_ledger
from loadtests.plan import LoadModel, LoadPlan
from loadtests.records import LedgerRecord, SecondSample
from loadtests.session import RUN_DIR_ENV, SESSION_FILE, STREAM_FILE, Account, LoadSession
from loadtests.shapes import LoadShape
from loadtests.stream import EventKind, StreamReader
from loadtests.summary import LoadSummary, SummaryBuilder

LOCUSTFILE = Path(__file__).with_name("entry") / "hanbit_locustfile.py"
_POLL_S = 0.05
_START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 3.0  # beyond the request timeout, before lingering Locust processes are killed
_SELF_QUIT_S = 10.0
_OVERDUE_S = 30.0  # after the last request's deadline, a master that has not ended the stream is stuck
_END = object()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# gevent records every greenlet's spawning stack by default: six frames per simulated user, all
# long-lived garbage-collector work. Not needed here.
LOCUST_ENV = {"GEVENT_TRACK_GREENLET_TREE": "false"}
_ROOT = Path(__file__).resolve().parent.parent


def locust_env(**extra: str) -> dict[str, str]:
    """The Locust processes' environment: ours, plus the project root on the import path, so a
    source checkout drives load even where the package's install points elsewhere."""
    env = {**os.environ, **LOCUST_ENV, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH")) if p)
    return env


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


def _die_with_parent() -> None:
    """Locust processes get SIGTERM when the harness dies (even by kill -9): load never outlives a drill."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class LoadRunner:
    def __init__(
        self,
        target_url: str,
        plan: LoadPlan,
        run_dir: Path | str,
        *,
        on_sample: Callable[[SecondSample], None] | None = None,
        remote_workers: int = 0,
        master_bind: str = "127.0.0.1",
        master_port: int = 0,
    ) -> None:
        if not target_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"target must be an http:// or https:// URL, not {target_url!r}")
        if remote_workers < 0:
            raise InvalidInputError("remote_workers must not be negative")
        self.target_url = target_url.rstrip("/")
        self.plan = plan
        # Read now: a missing or unreadable bundle is the caller's mistake, found before anything starts.
        self._ca_pem = read_ca_bundle(plan.ca_bundle) if plan.ca_bundle else None
        self.run_dir = Path(run_dir).absolute()  # handed to Locust processes that run in it
        self._on_sample = on_sample
        self._remote_workers = remote_workers
        self._master_bind = master_bind
        self._master_port = master_port
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self._queue: queue.Queue[object] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._halt = threading.Event()
        self._ended = threading.Event()
        self._started = threading.Event()
        self._error: str | None = None
        self._accounts: list[Account] = []
        self._pool: AccountPool | None = None
        # What every client todo id of this run begins with (worker_node: `<run id>-<worker tag>-<n>`), known
        # once the account pool is ready: a fault provider selects the run's own items by it.
        self.id_prefix: str | None = None
        self.start_epoch: float | None = None
        self.late = 0
        shape = LoadShape.of(plan)
        if plan.model is LoadModel.OPEN:
            target_rps = shape.mean_level()
        else:
            target_rps = shape.mean_level() / plan.think_time_s if plan.think_time_s > 0 else None
        self._builder = SummaryBuilder(target_rps, None if plan.model is LoadModel.OPEN else int(shape.peak()))
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Prepare the account pool, start the Locust master and workers, return once load begins."""
        if self._procs:
            raise LoadError("this LoadRunner was already started")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / STREAM_FILE).unlink(missing_ok=True)
        pool = AccountPool(self.target_url, self.run_dir, self.plan.accounts, self.plan.request_timeout_s * 6,
                           ca_bundle=self.plan.ca_bundle, auth=self.plan.auth)
        signed = pool.prepare(sign_in=not self.plan.signin_storm)
        self._pool = pool
        self._accounts = [Account(username=a.username, password=a.password) for a in signed]
        self.id_prefix = f"{pool.run_id}-"
        session = LoadSession(run_id=pool.run_id, target_url=self.target_url, plan=self.plan, accounts=signed,
                              ca_pem=self._ca_pem)
        session_file = session.write(self.run_dir)
        port = self._master_port or free_port(self._master_bind)
        workers = self.plan.workers + self._remote_workers
        self._spawn(
            "master",
            "--master",
            "--headless",
            "--only-summary",
            "--master-bind-host",
            self._master_bind,
            "--master-bind-port",
            str(port),
            "--expect-workers",
            str(workers),
            "--expect-workers-max-wait",
            str(int(_START_TIMEOUT_S)),
            "--stop-timeout",
            str(int(self.plan.request_timeout_s) + 2),
            "--exit-code-on-error",
            "0",
            "--host",
            self.target_url,
            "--hanbit-session-file",
            str(session_file),
        )
        for i in range(self.plan.workers):
            self._spawn(f"worker-{i}", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port))
        self._reader = threading.Thread(target=self._read_stream, name="load-stream", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + _START_TIMEOUT_S + 5
        while not self._started.wait(0.1):
            if self._error or time.monotonic() > deadline:
                self.stop()
                raise LoadError(self._error or "the load generator did not start in time; see the run directory")
        # The session holds the accounts' passwords and refresh tokens, and the master has read it by now
        # (workers get it from the master): it is not left in the run directory, which CI uploads.
        session_file.unlink(missing_ok=True)

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.run_dir / f"locust-{name}.log").open("ab")
        env = locust_env(**{RUN_DIR_ENV: str(self.run_dir.resolve())})
        proc = subprocess.Popen(
            locust_command("--loglevel", "INFO", *args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.run_dir,
            preexec_fn=_die_with_parent,
        )
        self._procs.append(proc)
        self._logs.append(log)

    def stop(self) -> None:
        """Stop the load now: no new request starts, those in flight finish (within their deadline),
        then every Locust process is gone (killed if it lingers). Safe to repeat."""
        procs, self._procs = self._procs, []
        (self.run_dir / SESSION_FILE).unlink(missing_ok=True)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        # Workers finish the writes in flight (each has a deadline) so the ledger knows their outcome.
        deadline = time.monotonic() + self.plan.request_timeout_s + _STOP_GRACE_S
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.05))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._halt.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(2)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def wait(self, timeout: float | None = None) -> LoadSummary:
        """Block until the run has ended (all its seconds streamed), then stop the processes."""
        if not self._ended.wait(timeout):
            if self._error:
                raise LoadError(self._error)
            raise LoadError("the load run did not end in time")
        # The master quits by itself once the run is over and tells every worker to quit, including
        # those on other machines, which a kill would leave waiting for a heartbeat.
        if self._procs:
            try:
                self._procs[0].wait(_SELF_QUIT_S)
            except subprocess.TimeoutExpired:
                pass
        self.stop()
        return self.summary()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- results --------------------------------------------------------------------------------

    def samples(self) -> Iterator[SecondSample]:
        """Each merged second as it closes, until the run ends. Raises LoadError if the generator dies."""
        while True:
            item = self._queue.get()
            if item is _END:
                self._queue.put(_END)  # a second iterator ends too
                if self._error:
                    raise LoadError(self._error)
                return
            assert isinstance(item, SecondSample)
            yield item

    def summary(self) -> LoadSummary:
        with self._lock:
            return self._builder.build()

    def ledger_records(self) -> list[LedgerRecord]:
        return read_ledger(self.run_dir)

    def accounts(self) -> list[Account]:
        return list(self._accounts)

    def sign_in(self) -> dict[str, str]:
        """A fresh bearer token for every account of the run (username -> token), obtained the way the load
        signed in (the target's /auth endpoint, or Cognito): e.g. to read back what it wrote, after a run
        that outlived the first tokens."""
        if self._pool is None:
            raise LoadError("the load has not prepared its accounts yet")
        return {a.username: a.token for a in self._pool.sign_in() if a.token is not None}

    def pids(self) -> list[int]:
        """Process ids of the local Locust master and workers (e.g. to measure the generator)."""
        return [p.pid for p in self._procs if p.poll() is None]

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    # -- stream ---------------------------------------------------------------------------------

    def _read_stream(self) -> None:
        reader = StreamReader(self.run_dir / STREAM_FILE)
        master = self._procs[0]
        overdue_at = math.inf  # known once the master says when the run ends
        while True:
            events = reader.poll()
            for event in events:
                if event.kind is EventKind.START:
                    self.start_epoch = event.start_epoch
                    if event.end_epoch is not None:
                        overdue_at = event.end_epoch + self.plan.request_timeout_s + _OVERDUE_S
                    self._started.set()
                elif event.kind is EventKind.SECOND and event.sample is not None:
                    with self._lock:
                        self._builder.add(event.sample)
                    if self._on_sample is not None:
                        self._on_sample(event.sample)
                    self._queue.put(event.sample)
                elif event.kind is EventKind.END:
                    self.late = event.late
                    self._finish()
                    return
            if self._halt.is_set():
                self._finish()
                return
            if not events and master.poll() is not None and not reader.poll_pending():
                self._error = f"the Locust master exited ({master.returncode}) before the run ended; see {self.run_dir}"
                self._finish()
                return
            if time.time() > overdue_at:
                self._error = f"the Locust master stopped streaming before the run ended; see {self.run_dir}"
                self._finish()
                return
            time.sleep(_POLL_S)

    def _finish(self) -> None:
        self._ended.set()
        self._queue.put(_END)
