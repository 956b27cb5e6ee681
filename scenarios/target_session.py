"""Where a drill's load goes and what its provider needs, for each kind of target.

A bundled target without a URL is started by the harness (temp data dir, free
ports) and stopped after the drill; the run journal records its pid and data
directory so that `hanbit-drill cleanup` can stop it if the run was killed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Protocol

import psutil
from pydantic import JsonValue

from chaos.lease import LeaseStore
from chaos.targets import AwsTarget, BundledTarget, Target
from common.errors import InvalidInputError, TargetError
from loadtests.plan import CognitoAuth
from service.regions.layout import DeploymentReady

STOP_GRACE_S = 10.0


def load_auth(target: Target) -> CognitoAuth | None:
    """How the target's load signs its accounts in, as plain data for loadtests: the Cognito pool the
    target names (None: the API's own /auth endpoints, as the bundled service has)."""
    pool = target.user_pool
    if pool is None:
        return None
    return CognitoAuth(user_pool_id=pool.user_pool_id, client_id=pool.client_id, region=pool.region,
                       token=pool.token, endpoint_url=pool.endpoint_url)


class TargetSession(Protocol):
    api_url: str
    service_pid: int | None  # a service this session started and must stop
    data_dir: str | None

    def start(self, run_dir: Path) -> None: ...

    def provider_runtime(self) -> dict[str, JsonValue]:
        """Keyword arguments for the provider's constructor that only exist at run time."""

    def service_process(self) -> psutil.Process | None:
        """The target's server process on this machine, when there is one to measure (soak memory)."""

    def lease_store(self) -> LeaseStore:
        """Where the target's lease is kept (one drill at a time: chaos.lease), once `start` ran."""

    def close(self) -> None: ...


class BundledSession:
    def __init__(self, target: BundledTarget) -> None:
        self.target = target
        self.api_url = target.url or ""
        self.data_dir = target.data_dir
        self.service_pid: int | None = None
        self._process = None

    def start(self, run_dir: Path) -> None:
        if self.target.url:
            if not self.target.data_dir:
                raise InvalidInputError("a bundled target with `url` also needs `data_dir` (it holds the admin token)")
            return
        from service.launcher import ServiceProcess  # the service is only imported when the harness runs it

        data_dir = run_dir / "service"
        self._process = ServiceProcess(
            data_dir=data_dir, port=0, workers=self.target.workers, regions=self.target.regions
        )
        try:
            self.api_url = self._process.start()
        except Exception as exc:
            self._process.stop()
            raise TargetError(f"could not start the bundled service: {exc}") from exc
        self.service_pid = self._process.pid
        self.data_dir = str(data_dir)

    def provider_runtime(self) -> dict[str, JsonValue]:
        return {"data_dir": self.data_dir, "api_url": self.api_url}

    def service_process(self) -> psutil.Process | None:
        """The deployment's supervisor, or the server alone when it runs without one (`serve --no-control`)."""
        if not self.data_dir:
            return None
        from service.server import ReadyInfo
        from service.settings import ServiceSettings

        data_dir = Path(self.data_dir)
        for ready in (DeploymentReady.read(data_dir), ReadyInfo.read(ServiceSettings(data_dir=data_dir).ready_file)):
            if ready is not None and (process := ready.running_process()) is not None:
                return process
        return None

    def lease_store(self) -> LeaseStore:
        """A lock file in the data directory every harness driving this service reads its admin token from
        (a service the harness started itself has a fresh one: nobody else can hold it)."""
        from chaos.local.lease_store import LockFileLeaseStore

        if not self.data_dir and self.target.url:
            raise InvalidInputError("a bundled target with `url` also needs `data_dir` (its lease is kept there)")
        if not self.data_dir:
            raise InvalidInputError(
                "a bundled target without `url` is started by the harness for each drill, in a fresh data "
                "directory: nothing of it outlives the run but what the run's journal records (`hanbit-drill "
                "cleanup` without --target)"
            )
        return LockFileLeaseStore(self.data_dir)

    def close(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    @staticmethod
    def stop_leftover(pid: int, data_dir: str | None) -> bool:
        """Stop what a killed run started: the deployment whose ready file names `pid`, with its whole
        process group. False when that service is no longer there (a pid now someone else's is left alone)."""
        ready = DeploymentReady.read(Path(data_dir)) if data_dir else None
        process = ready.running_process() if ready is not None and ready.pid == pid else None
        if process is None:
            return False
        try:
            os.killpg(os.getpgid(pid), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            process.terminate()
        try:
            process.wait(STOP_GRACE_S)
        except psutil.TimeoutExpired:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        return True


class _RemoteSession:
    """A target the harness starts nothing for: traffic goes to its URL as it is."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.service_pid: int | None = None
        self.data_dir: str | None = None

    def start(self, run_dir: Path) -> None:
        pass

    def provider_runtime(self) -> dict[str, JsonValue]:
        return {}

    def service_process(self) -> psutil.Process | None:
        return None

    def close(self) -> None:
        pass

    @staticmethod
    def stop_leftover(pid: int, data_dir: str | None) -> bool:
        return False  # it started nothing a killed run could leave behind


class AwsSession(_RemoteSession):
    def __init__(self, target: AwsTarget) -> None:
        super().__init__(target.api_url)
        self.target = target

    def lease_store(self) -> LeaseStore:
        """An SSM parameter in the target's region (credentials from the environment, as every AWS call)."""
        from chaos.aws.clients import AwsClients
        from chaos.aws.context import AwsSettings
        from chaos.aws.lease_store import SsmLeaseStore

        target = self.target
        return SsmLeaseStore(AwsClients(None, target.region), AwsSettings().marker_prefix, target.function,
                             target.region)


class EndpointSession(_RemoteSession):
    """A bare URL: traffic only, nothing to start, stop or control."""

    def lease_store(self) -> LeaseStore:
        raise InvalidInputError(f"{self.api_url}: a bare URL is no target a drill can hold: name it under `targets:`")
