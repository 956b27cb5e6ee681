"""Start and stop the bundled service in a subprocess, from the harness or from tests.

    with ServiceProcess(tmp_dir, port=0, workers=2) as svc:
        httpx.get(svc.url + "/health")

`start()` returns once every worker serves (the ready file names the real port);
`stop()` sends SIGTERM and waits, then kills the whole process group if it must.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from service.errors import ServiceError, ServiceStartError
from service.regions.layout import DeploymentReady, Layout
from service.server import ReadyInfo
from service.settings import ENV_VAR, ServiceSettings
from service.store import StoreKind

_ROOT = Path(__file__).resolve().parent.parent  # lets the child import `service` without an install


class ServiceProcess:
    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 0,
        workers: int = 2,
        store: StoreKind = StoreKind.SQLITE,
        region: str = "ap-northeast-2",
        regions: int | None = None,
        **settings: Any,
    ) -> None:
        """`settings`: any other ServiceSettings field (e.g. signin_lockout_s, token_ttl_s).

        `regions`: None runs the service alone (one region, no control plane); 1 or 2 run it under
        the supervisor with the control API (docs/control-api.md), 2 with replication and the edge.
        `data_dir` then holds `ready.json` and `admin.token`, and `ready` describes the deployment.
        """
        if regions is not None and regions not in (1, 2):
            raise ValueError("regions must be 1 or 2 (or None: the service alone)")
        self.regions = regions
        self.ready: DeploymentReady | None = None
        self.settings = ServiceSettings(
            data_dir=Path(data_dir).resolve(), port=port, workers=workers, store=store, region=region,
            **settings,
        )
        self.info: ReadyInfo | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def output_file(self) -> Path:
        return self.settings.log_file.parent / "serve.out"

    @property
    def url(self) -> str:
        if self.ready is not None:
            return self.ready.url  # the public URL: the edge with two regions
        if self.info is None:
            raise ServiceError("the service is not running")
        return self.info.url

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 60.0) -> str:
        if self._proc is not None and self._proc.poll() is None:
            return self.url
        ready_file = self.settings.ready_file
        ready_file.unlink(missing_ok=True)
        deployment = Layout(self.settings.data_dir)
        deployment.ready_file.unlink(missing_ok=True)
        self.output_file.parent.mkdir(parents=True, exist_ok=True)
        self._output = open(self.output_file, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, ENV_VAR: self.settings.to_env()}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "service", "serve"]
        command += ["--no-control"] if self.regions is None else ["--regions", str(self.regions)]
        self._proc = subprocess.Popen(
            command,
            stdout=self._output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,  # its own process group: stop() can reap the workers too
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                self._close_output()
                raise ServiceStartError(f"the service exited with code {code} before it was ready:\n{self._tail()}")
            if self.regions is not None:
                ready = DeploymentReady.read(deployment.root)
                if ready is not None and ready.pid == self._proc.pid:
                    self.ready = ready
                    # The primary region's own ready file: its workers, its URL.
                    self.info = ReadyInfo.read(deployment.region_dir(ready.primary) / "run" / "service.json")
                    return ready.url
            else:
                info = ReadyInfo.read(ready_file)
                if info is not None and info.pid == self._proc.pid:
                    self.info = info
                    return info.url
            time.sleep(0.05)
        self.stop()
        raise ServiceStartError(f"the service was not ready within {timeout_s:.0f} s:\n{self._tail()}")

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """Stop gracefully (SIGTERM), or kill the process group after `timeout_s`. Returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._kill_group(proc.pid)
                proc.wait(5)
        self._kill_group(proc.pid)  # workers orphaned by a crashed supervisor
        self._close_output()
        self.info = None
        self.ready = None
        return proc.returncode

    @staticmethod
    def _kill_group(pgid: int) -> None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None

    def _tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.output_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ServiceProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
