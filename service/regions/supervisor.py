"""The deployment supervisor behind `hanbit-drill serve`: regions, replication, edge, control API.

It starts each region's server (its own data dir, database and workers), the replicator
between them, the edge on the public port, the health checks that drive the edge, and the
control API on its own loopback port, then writes `ready.json`. With one region the
region itself listens on the public port; the control API is there all the same. Every
process it starts stays in its process group, so killing the group stops everything.
With a certificate (serve --tls-cert/--tls-key) the regions serve HTTPS and the edge pipes
the encrypted bytes; the supervisor's probes speak TLS too (service.tls).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn

from service.control.api import ControlApi
from service.control.changelog import ChangeLog
from service.control.context import ControlContext, RegionFiles
from service.control.state import (
    PRIMARY,
    SECONDARY,
    ControlState,
    RegionStatus,
    initial_state,
)
from service.control.store import StateStore
from service.control.token import AdminToken
from service.control.watcher import StateWatcher
from service.errors import ServiceError, ServiceSettingsError
from service.identity import UserDirectory, load_or_create_key
from service.regions.health import HealthChecker
from service.regions.layout import DeploymentReady, Layout
from service.regions.region_process import RegionProcess, answers
from service.regions.region_server import CONTROL_STATE_ENV
from service.regions.replicator import Replicator
from service.settings import ENV_VAR, HOST, ServiceSettings
from service.store import StoreKind
from service.tls import check_certificate

_ROOT = Path(__file__).resolve().parents[2]  # lets children import the packages without an install


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    sock.listen(4096)
    return sock


class Supervisor:
    def __init__(self, settings: ServiceSettings, *, regions: int = 1, health_interval_s: float = 1.0,
                 failure_threshold: int = 3, replication_interval_s: float = 0.1) -> None:
        """`settings`: the deployment's data dir, public port and workers per region; every other
        field is each region's setting too. One region is named `settings.region`; with two, the
        primary is `settings.region` and the other of ap-northeast-2 / ap-northeast-1 is the secondary."""
        if regions not in (1, 2):
            raise ValueError("regions must be 1 or 2")
        if settings.store is not StoreKind.SQLITE:
            raise ServiceSettingsError("the control plane's table operations need the sqlite store "
                                    "(serve --no-control runs the service alone on DynamoDB)")
        self.layout = Layout(Path(settings.data_dir).resolve())
        self.port = settings.port
        self.workers = settings.workers
        secondary = SECONDARY if settings.region != SECONDARY else PRIMARY
        self.region_names = [settings.region, secondary][:regions]
        self.health_interval_s = health_interval_s
        self.failure_threshold = failure_threshold
        self.replication_interval_s = replication_interval_s
        self.region_settings = settings.model_dump(exclude={"data_dir", "port", "workers", "region"})
        self.tls = (settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
        self.scheme = settings.scheme
        self.processes: dict[str, RegionProcess] = {}
        self.replicator: Replicator | None = None
        self.edge: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()

    # ---- RegionController ----------------------------------------------------------------

    def set_status(self, region: str, status: RegionStatus) -> None:
        if status is not RegionStatus.UP and self.replicator is not None:
            self.replicator.barrier()  # a cycle that started before the outage finishes first
        self.processes[region].set_status(status)

    # ---- startup ---------------------------------------------------------------------------

    def _initial_state(self, ports: dict[str, int]) -> ControlState:
        state = None
        if self.layout.state_file.exists():
            try:
                state = StateStore(self.layout.state_file).read()
            except (OSError, ValueError):
                state = None
        if state is None or sorted(state.regions) != sorted(self.region_names):
            state = initial_state(self.region_names, interval_s=self.health_interval_s,
                                  failure_threshold=self.failure_threshold)
        # A restart keeps deployments and settings, but every region starts up and healthy.
        for name, region in state.regions.items():
            region.status = RegionStatus.UP
            region.port = ports[name]
        state.edge.healthy = {name: True for name in state.regions}
        state.edge.interval_s = self.health_interval_s
        state.edge.failure_threshold = self.failure_threshold
        state.edge.serving = state.edge.active or state.primary
        return state

    def _prepare_identity(self) -> None:
        """The shared user pool and key exist before any region starts (their links point at them)."""
        identity = self.layout.identity_dir
        load_or_create_key(identity / "signing.key")
        UserDirectory(identity / "users.db").close()
        fd = os.open(identity / "users.gen", os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)

    def _region_process(self, name: str, port: int, state_file: Path) -> RegionProcess:
        settings = ServiceSettings.model_validate({
            **self.region_settings, "data_dir": self.layout.region_dir(name), "port": port,
            "workers": self.workers, "region": name})
        env = {**os.environ, ENV_VAR: settings.to_env(), CONTROL_STATE_ENV: str(state_file)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        return RegionProcess(name, [sys.executable, "-m", "service.regions.region_server"], port=port, env=env,
                             log_file=self.layout.logs_dir / f"{name}.out", tls=self.tls is not None)

    def run(self, on_ready: Callable[[DeploymentReady], None] | None = None) -> None:
        """Serve until SIGTERM/SIGINT (or `shutdown()`), then stop everything it started."""
        if self.tls is not None:
            check_certificate(*self.tls)
        self.layout.prepare(self.region_names)
        self._prepare_identity()
        token = AdminToken.load_or_create(self.layout.root)
        self.layout.ready_file.unlink(missing_ok=True)
        two = len(self.region_names) > 1
        public = listen(self.port) if two else None
        region_ports = {name: free_port() for name in self.region_names}
        if not two:
            region_ports[self.region_names[0]] = self.port or free_port()
        control_sock = listen(0)
        store = StateStore.create(self.layout.state_file, self._initial_state(region_ports))
        log = ChangeLog(self.layout.change_log)
        try:
            self.processes = {name: self._region_process(name, port, self.layout.state_file)
                              for name, port in region_ports.items()}
            with ThreadPoolExecutor(len(self.processes)) as pool:
                for future in [pool.submit(p.start) for p in self.processes.values()]:
                    future.result()
            if two:
                watcher = StateWatcher(self.layout.state_file)

                def is_down(region: str) -> bool:
                    watcher.refresh()
                    return watcher.state.regions[region].status is not RegionStatus.UP

                def is_paused() -> bool:
                    watcher.refresh()
                    return watcher.state.replication.paused

                self.replicator = Replicator({n: self.layout.region_dir(n) / "todos.db" for n in self.region_names},
                                             is_down=is_down, is_paused=is_paused,
                                             interval_s=self.replication_interval_s)
                self.replicator.start()
                assert public is not None
                self.edge = subprocess.Popen(
                    [sys.executable, "-m", "service.regions.edge", "--state", str(self.layout.state_file),
                     "--fd", str(public.fileno())],
                    pass_fds=[public.fileno()], stdin=subprocess.DEVNULL,
                    stdout=open(self.layout.logs_dir / "edge.out", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                    env={**os.environ, "PYTHONPATH": str(_ROOT)})
                public_port = public.getsockname()[1]
            else:
                public_port = region_ports[self.region_names[0]]
            public_url = f"{self.scheme}://{HOST}:{public_port}"
            context = ControlContext(
                store=store, log=log,
                regions={n: RegionFiles(n, self.layout.region_dir(n)) for n in self.region_names},
                region_controller=self, replication=self.replicator,
                urls={n: f"{self.scheme}://{HOST}:{p}" for n, p in region_ports.items()}, public_url=public_url)
            checker = HealthChecker(store, log=log, tls=self.tls is not None) if two else None
            context.edge = checker
            ready = DeploymentReady(
                url=public_url, control_url=f"http://{HOST}:{control_sock.getsockname()[1]}", pid=os.getpid(),
                regions=context.urls, primary=self.region_names[0], workers=self.workers,
                data_dir=str(self.layout.root), started_at=time.time())
            asyncio.run(self._serve(ControlApi(context, token), control_sock, checker, ready, public_port, on_ready))
        finally:
            self._shutdown(public, control_sock)

    async def _serve(self, app: ControlApi, sock: socket.socket, checker: HealthChecker | None,
                     ready: DeploymentReady, public_port: int,
                     on_ready: Callable[[DeploymentReady], None] | None) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning", loop="asyncio")
        server = uvicorn.Server(config)
        server.capture_signals = _no_signal_capture  # type: ignore[method-assign]  # ours stop it
        serving = loop.create_task(server.serve(sockets=[sock]))
        if checker is not None:
            checker.start()
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the control API stopped while starting")
                await asyncio.sleep(0.02)
            deadline = time.monotonic() + 30
            while not await asyncio.to_thread(answers, public_port, tls=self.tls is not None):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the public port {public_port} does not answer")
                await asyncio.sleep(0.05)
            ready.write(self.layout.root)
            if on_ready is not None:
                on_ready(ready)
            while not self._stop.is_set() and not serving.done():
                await asyncio.sleep(0.1)
        finally:
            if checker is not None:
                await checker.stop()
            server.should_exit = True
            await serving

    def shutdown(self) -> None:
        self._stop.set()

    def _shutdown(self, public: socket.socket | None, control_sock: socket.socket) -> None:
        self.layout.ready_file.unlink(missing_ok=True)
        if self.edge is not None:
            self.edge.terminate()
            try:
                self.edge.wait(5)
            except subprocess.TimeoutExpired:
                self.edge.kill()
        if self.replicator is not None:
            self.replicator.stop()
        for process in self.processes.values():
            process.stop()
        for sock in (public, control_sock):
            if sock is not None:
                sock.close()


class _NoCapture:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _no_signal_capture() -> _NoCapture:
    return _NoCapture()

