"""What a region's worker process takes from the control plane.

`WorkerControl.from_env(settings)` is None for a service started without a supervisor;
otherwise it follows the control state file the supervisor names in the environment and
supplies the worker's controlled pieces: the function `todo-api` (`ControlledFunction`),
stores behind their table's throttle gate, and an authorizer that honours the user
pool's not-before time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from service.api.todos import TodoApiCode
from service.control.broken_release import BrokenReleaseCode
from service.control.controlled_function import ControlledFunction
from service.control.state import CodeRelease, ControlState
from service.control.watcher import StateWatcher
from service.identity import Claims
from service.proxy import unauthorized
from service.runtime.function import FunctionConfig
from service.settings import ServiceSettings
from service.store.base import TodoStore
from service.table.throttle import TableGates

CONTROL_STATE_ENV = "HANBIT_CONTROL_STATE"


class _Authorizer:
    """Any authorizer, plus the not-before check (a global sign-out: every older token is refused)."""

    def __init__(self, inner: object, control: WorkerControl) -> None:
        self._inner = inner
        self._control = control

    def authorize(self, authorization: str | None) -> Claims:
        claims = self._inner.authorize(authorization)  # type: ignore[attr-defined]
        not_before = self._control.not_before
        # Whole seconds, as `iat` is: a token issued in the second of the cut-off is still good.
        if not_before is not None and claims.iat < int(not_before):
            raise unauthorized("token issued before the user pool's not-before time; sign in again")
        return claims


class WorkerControl:
    def __init__(self, state_file: Path, settings: ServiceSettings) -> None:
        self.settings = settings
        self.region = settings.region
        self.watcher = StateWatcher(state_file)
        self.dir = settings.data_dir / "control"
        self.gates = TableGates(self.dir / "throttle")
        self.not_before: float | None = None
        self.watcher.subscribe(self._follow)

    @classmethod
    def from_env(cls, settings: ServiceSettings) -> WorkerControl | None:
        path = os.environ.get(CONTROL_STATE_ENV)
        return cls(Path(path), settings) if path else None

    def _follow(self, state: ControlState) -> None:
        self.not_before = state.auth.not_before
        region = state.regions.get(self.region)
        throttles = region.table.throttles if region is not None else {}
        self.gates.set_limits({t: (v.read_capacity, v.write_capacity) for t, v in throttles.items()})

    def store_opener(self, open_store: Callable[[str], TodoStore]) -> Callable[[str], TodoStore]:
        def open_gated(table: str) -> TodoStore:
            return self.gates.wrap(open_store(table))  # type: ignore[return-value]

        return open_gated

    def todo_function(self, open_store: Callable[[str], TodoStore], base: FunctionConfig,
                      executor: Executor | None) -> ControlledFunction:
        gated = self.store_opener(open_store)
        codes = {CodeRelease.CURRENT: TodoApiCode(gated), CodeRelease.BROKEN: BrokenReleaseCode(gated)}
        return ControlledFunction(codes, base, self.watcher, region=self.region,
                                  slots_path=self.dir / "concurrency.slots", executor=executor)

    def authorizer(self, inner: object) -> _Authorizer:
        return _Authorizer(inner, self)

    def start(self) -> None:
        """Begin following the state (a startup hook: runs inside the worker's event loop)."""
        asyncio.get_running_loop()
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.cancel()
