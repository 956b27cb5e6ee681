"""`hanbit-drill serve`: uvicorn (uvloop + httptools, one send per response) worker processes behind one socket.

The supervisor (this process) binds 127.0.0.1:<port> once and hands the socket to
N spawned workers, restarts a worker that dies, and on SIGINT/SIGTERM stops them
all and returns. When every worker has finished its startup it writes the ready
file (`<data dir>/run/service.json`: URL, pid, port, worker pids), so a caller that
asked for port 0 learns the real port, then reports the URL. With a certificate and key in the
settings the workers serve HTTPS (see service.tls) and the URL is https://.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import uvicorn
from pydantic import BaseModel
from uvicorn.supervisors.multiprocess import Multiprocess

from service.errors import ServiceError, ServiceStartError
from service.identity import UserDirectory, load_or_create_key
from service.process_identity import process_that_wrote
from service.runtime.http_protocol import SingleWriteHttpToolsProtocol
from service.settings import ENV_VAR, HOST, ServiceSettings
from service.store import StoreKind
from service.tls import check_certificate, probe_context

READY_TIMEOUT_S = 60.0
BACKLOG = 8192  # capped by net.core.somaxconn; a burst of 10k connects must not overflow it


class ReadyInfo(BaseModel):
    """The ready file: how to reach a running instance and which processes are its own."""

    url: str
    pid: int
    port: int
    workers: int
    worker_pids: list[int]
    region: str
    store: StoreKind
    data_dir: str
    started_at: float

    @classmethod
    def read(cls, path: Path) -> ReadyInfo | None:
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            return None

    def running_process(self) -> psutil.Process | None:
        """The server that wrote this file, if it still runs (not a later process given its pid)."""
        return process_that_wrote(self.pid, self.started_at)


def prepare_data_dir(settings: ServiceSettings) -> None:
    """Create what every worker needs before any starts, so workers never race to create it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_key(settings.key_file)
    UserDirectory(settings.users_db).close()
    if settings.store is StoreKind.SQLITE:
        from service.store.sqlite import create_table

        create_table(settings.todos_db, settings.table_name)
    else:
        _ensure_dynamodb_table(settings)
    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(settings.run_dir, ignore_errors=True)  # leftovers of an earlier run
    settings.workers_dir.mkdir(parents=True)
    settings.metrics_dir.mkdir(parents=True)


def _ensure_dynamodb_table(settings: ServiceSettings) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from service.store.dynamodb import create_table, make_client

    client = make_client(settings.region, settings.dynamodb_endpoint_url)
    try:
        client.describe_table(TableName=settings.table_name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise ServiceError(f"DynamoDB table {settings.table_name}: {exc}") from exc
        create_table(client, settings.table_name)
    except BotoCoreError as exc:
        raise ServiceError(f"DynamoDB in {settings.region} is not reachable: {exc}") from exc
    finally:
        client.close()


def bind_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    # Listen now: a worker announces itself from its lifespan startup, a moment before uvicorn
    # starts accepting; connections made in between wait in the backlog instead of being refused.
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _answers(port: int, tls: bool) -> bool:
    """One real round trip: GET /health answers (any status: the table may be down, the server is up)."""
    conn = (http.client.HTTPSConnection(HOST, port, timeout=5, context=probe_context()) if tls
            else http.client.HTTPConnection(HOST, port, timeout=5))
    try:
        conn.request("GET", "/health")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


class ServiceServer:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
        self.info: ReadyInfo | None = None
        self._ready = threading.Event()

    def run(self, on_ready: Callable[[ReadyInfo], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM. Raises ServiceStartError if the workers never got ready."""
        if self.settings.tls_cert is not None and self.settings.tls_key is not None:
            check_certificate(self.settings.tls_cert, self.settings.tls_key)
        prepare_data_dir(self.settings)
        sock = bind_socket(self.settings.port)
        settings = self.settings.model_copy(update={"port": sock.getsockname()[1]})
        os.environ[ENV_VAR] = settings.to_env()  # spawned workers inherit it
        config = uvicorn.Config(
            "service.app:create_app",
            factory=True,
            host=HOST,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http=SingleWriteHttpToolsProtocol,  # httptools, one send per response
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            proxy_headers=False,  # loopback, no proxy in front: skip the X-Forwarded-* middleware
            timeout_keep_alive=settings.keep_alive_s,
            timeout_graceful_shutdown=5,
            backlog=BACKLOG,
            # Each worker loads them into its own context: TLS is done by the workers, in parallel.
            ssl_certfile=None if settings.tls_cert is None else str(settings.tls_cert),
            ssl_keyfile=None if settings.tls_key is None else str(settings.tls_key),
        )
        supervisor = Multiprocess(config, sockets=[sock])
        watcher = threading.Thread(target=self._await_workers, args=(settings, supervisor, on_ready),
                                   name="ready-watcher", daemon=True)
        watcher.start()
        try:
            supervisor.run()
        finally:
            settings.ready_file.unlink(missing_ok=True)
            sock.close()
        if not self._ready.is_set():
            raise ServiceStartError(f"the service workers did not start; see the output above and {settings.log_file}")

    def _await_workers(
        self, settings: ServiceSettings, supervisor: Multiprocess, on_ready: Callable[[ReadyInfo], None] | None
    ) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not supervisor.should_exit.is_set():
            pids = {p.pid for p in supervisor.processes if p.pid is not None}
            announced = {int(f.name) for f in settings.workers_dir.iterdir() if f.name.isdigit()}
            if len(pids) == settings.workers and pids <= announced and _answers(settings.port, settings.tls_cert is not None):
                info = ReadyInfo(
                    url=f"{settings.scheme}://{HOST}:{settings.port}", pid=os.getpid(), port=settings.port,
                    workers=settings.workers, worker_pids=sorted(pids), region=settings.region,
                    store=settings.store, data_dir=str(settings.data_dir), started_at=time.time(),
                )
                tmp = settings.ready_file.with_suffix(".tmp")
                tmp.write_text(info.model_dump_json())
                os.replace(tmp, settings.ready_file)
                self.info = info
                self._ready.set()
                if on_ready is not None:
                    on_ready(info)
                return
            time.sleep(0.05)
        if not supervisor.should_exit.is_set():
            print(f"hanbit-drill: workers not ready after {READY_TIMEOUT_S:.0f} s; stopping", flush=True)
            supervisor.should_exit.set()
