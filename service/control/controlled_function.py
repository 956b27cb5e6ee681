"""The function `todo-api` as the control plane runs it: alias LIVE, versions, concurrency, faults.

`ControlledFunction` is an `Invoker` (`service.runtime.function`) wrapped around the
`FunctionRuntime` of the version alias LIVE points at. On every control state change it
resolves LIVE to a version (code + configuration) and gets that version's runtime, loaded
once (Lambda's init phase, cached per version). Running the handler, its timeout (504),
unhandled exceptions and malformed responses (502) are the runtime's; this adds, in order:
- reserved concurrency: a slot shared by the region's workers, or 429 TooManyRequestsException;
- injected faults (`service.control.injected_faults`, answers built once per fault), each
  drawn against its percentage: a fixed status (handler not run), an exception raised in
  the runtime (502), added start latency, extra run time; the function timeout bounds
  the whole invocation, the added times included.
While no limit or fault is set, an invocation is the runtime's invocation and nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path

from service.control.concurrency import ConcurrencySlots
from service.control.injected_faults import InjectedFaults
from service.control.state import CodeRelease, ControlState, FunctionVersion
from service.control.watcher import StateWatcher
from service.proxy import ProxyResponse, error_response
from service.runtime.function import (
    ErrorDetail,
    Event,
    Failure,
    FunctionCode,
    FunctionConfig,
    FunctionRuntime,
    Handler,
    Invocation,
    LambdaContext,
)

_log = logging.getLogger("service.control")

THROTTLED = "TooManyRequestsException"


@dataclass(frozen=True, slots=True)
class _Reserved:
    limit: int
    throttled: Failure  # the answer over the limit, built once


class ControlledFunction:
    def __init__(
        self,
        codes: Mapping[CodeRelease, FunctionCode],
        base: FunctionConfig,
        watcher: StateWatcher,
        *,
        region: str,
        slots_path: Path,
        executor: Executor | None = None,
    ) -> None:
        self.codes = codes
        self.base = base
        self.region = region
        self._executor = executor
        self._slots = ConcurrencySlots(slots_path)
        self._runtimes: dict[tuple[str, CodeRelease, float, int, str], FunctionRuntime] = {}
        self._live: FunctionRuntime | None = None
        self._reserved: _Reserved | None = None
        self._faults: InjectedFaults | None = None
        watcher.subscribe(self._follow)

    # ---- following the control state ------------------------------------------------------

    def _follow(self, state: ControlState) -> None:
        region = state.regions.get(self.region)
        if region is None:
            _log.error("control state has no region %s; keeping the current function", self.region)
            return
        function = region.function
        self._live = self._load(function.live())
        limit = function.reserved
        if limit is None:
            self._reserved = None
        elif self._reserved is None or self._reserved.limit != limit:
            self._reserved = _Reserved(limit, Failure(error_response(429, THROTTLED, "Rate Exceeded."),
                                                      ErrorDetail(THROTTLED, f"reserved concurrency {limit} reached")))
        if not function.faults.active():
            self._faults = None
        elif self._faults is None or self._faults.settings != function.faults:
            self._faults = InjectedFaults(function.faults.model_copy(deep=True))  # answers built once per fault

    def _load(self, version: FunctionVersion) -> FunctionRuntime:
        config = replace(self.base, version=version.version, timeout_s=version.config.timeout_s,
                         memory_mb=version.config.memory_mb, table_name=version.config.table_name)
        key = (version.version, version.code, config.timeout_s, config.memory_mb, config.table_name)
        runtime = self._runtimes.get(key)
        if runtime is None:
            try:
                runtime = FunctionRuntime(self.codes[version.code], config, executor=self._executor)  # cold start
            except Exception as exc:  # noqa: BLE001 - an init error fails every invocation, as on Lambda
                runtime = FunctionRuntime(_InitFailed(exc), config, executor=self._executor)
            self._runtimes[key] = runtime
        return runtime

    @property
    def config(self) -> FunctionConfig:
        return self._live.config if self._live is not None else self.base

    # ---- invoking -------------------------------------------------------------------------

    async def invoke(self, event: Event) -> Invocation:
        runtime = self._live
        assert runtime is not None
        if self._reserved is None and self._faults is None:
            return await runtime.invoke(event)
        context = runtime.start(event)
        slot = None
        reserved = self._reserved
        if reserved is not None:
            slot = self._slots.acquire(reserved.limit)
            if slot is None:
                return reserved.throttled.invocation(context)
        try:
            faults = self._faults
            if faults is None:
                return await runtime.invoke(event, context)
            return await self._invoke_with_faults(runtime, faults, event, context)
        finally:
            if slot is not None:
                self._slots.release(slot)

    @staticmethod
    async def _invoke_with_faults(runtime: FunctionRuntime, faults: InjectedFaults, event: Event,
                                  context: LambdaContext) -> Invocation:
        failure = faults.failure()
        if failure is not None:
            return failure.invocation(context)
        delay = faults.start_delay_s()
        if delay and not await _sleep_until(time.monotonic() + delay, context.deadline):
            return runtime.timed_out(context)
        invocation = await runtime.invoke(event, context)
        extra = faults.extra_run_s()
        if extra and not await _sleep_until(time.monotonic() + extra, context.deadline):
            return runtime.timed_out(context)
        return invocation

    def close(self) -> None:
        self._slots.close()
        for code in self.codes.values():
            code.close()


async def _sleep_until(wake: float, deadline: float) -> bool:
    """Sleep to `wake`, but not past `deadline`. False when the deadline cut it short."""
    now = time.monotonic()
    if wake <= deadline:
        await asyncio.sleep(max(0.0, wake - now))
        return True
    await asyncio.sleep(max(0.0, deadline - now))
    return False


class _InitFailed:
    """The code of a version whose init phase raised: every invocation raises that error."""

    def __init__(self, exc: Exception) -> None:
        self._exc = exc

    def load(self, config: FunctionConfig) -> Handler:
        def handler(event: Event, context: LambdaContext) -> ProxyResponse:
            raise self._exc

        return handler

    def close(self) -> None:
        pass
