"""The function `todo-api` as the control plane runs it: alias LIVE, versions, concurrency, faults.

`ControlledFunction` has the interface of `service.runtime.function.FunctionRuntime`
(`invoke(event) -> Invocation`, `config`, `close`). On every control state change it
resolves alias LIVE to a version (code + configuration) and loads that version's handler
once (Lambda's init phase, cached per version); each invocation then runs whatever LIVE
points at. While no limit or fault is set, an invocation costs one handler call and one
clock read more than the plain runtime. Otherwise, in order:
- reserved concurrency: a slot shared by the region's workers, or 429 TooManyRequestsException;
- injected faults, each drawn against its percentage: a fixed status (handler not run),
  an exception raised in the runtime (502), added start latency, extra run time;
- the function timeout bounds the whole invocation: 504 `timeout` once exceeded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path

from service.control.concurrency import ConcurrencySlots
from service.control.state import CodeRelease, ControlState, FunctionFaults, FunctionVersion
from service.control.watcher import StateWatcher
from service.proxy import ProxyResponse, error_response
from service.runtime.function import (
    ErrorDetail,
    Event,
    FunctionCode,
    FunctionConfig,
    Handler,
    Invocation,
    LambdaContext,
    function_error,
)

_log = logging.getLogger("service.control")

THROTTLED = "TooManyRequestsException"


class FailureInjectionException(Exception):
    """Raised by the runtime for the `exception` fault (failure-lambda / FIS invocation-error)."""


@dataclass(frozen=True, slots=True)
class _Live:
    config: FunctionConfig
    handler: Handler


def _timed_out(config: FunctionConfig) -> tuple[ProxyResponse, ErrorDetail]:
    message = f"Task timed out after {config.timeout_s:.2f} seconds"
    return error_response(504, "timeout", message), ErrorDetail("Sandbox.Timedout", message)


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
        self._handlers: dict[tuple[str, CodeRelease, float, int, str], Handler] = {}
        self._live: _Live | None = None
        self._reserved: int | None = None
        self._faults: FunctionFaults | None = None
        watcher.subscribe(self._follow)

    # ---- following the control state ------------------------------------------------------

    def _follow(self, state: ControlState) -> None:
        region = state.regions.get(self.region)
        if region is None:
            _log.error("control state has no region %s; keeping the current function", self.region)
            return
        function = region.function
        self._live = self._load(function.live())
        self._reserved = function.reserved
        self._faults = function.faults if function.faults.active() else None

    def _load(self, version: FunctionVersion) -> _Live:
        config = replace(self.base, version=version.version, timeout_s=version.config.timeout_s,
                         memory_mb=version.config.memory_mb, table_name=version.config.table_name)
        key = (version.version, version.code, config.timeout_s, config.memory_mb, config.table_name)
        handler = self._handlers.get(key)
        if handler is None:
            try:
                handler = self.codes[version.code].load(config)  # the version's cold start
            except Exception as exc:  # noqa: BLE001 - an init error fails every invocation, as on Lambda
                handler = _init_failed(exc)
            self._handlers[key] = handler
        return _Live(config, handler)

    @property
    def config(self) -> FunctionConfig:
        return self._live.config if self._live is not None else self.base

    # ---- invoking -------------------------------------------------------------------------

    async def invoke(self, event: Event) -> Invocation:
        live = self._live
        assert live is not None
        context = LambdaContext(live.config, event["requestContext"]["requestId"])
        if self._reserved is None and self._faults is None:
            return await self._run(live, event, context, time.monotonic())
        slot = None
        if self._reserved is not None:
            slot = self._slots.acquire(self._reserved)
            if slot is None:
                detail = ErrorDetail(THROTTLED, f"reserved concurrency {self._reserved} reached")
                return Invocation(error_response(429, THROTTLED, "Rate Exceeded."), context, detail)
        try:
            return await self._invoke_with_faults(live, event, context)
        finally:
            if slot is not None:
                self._slots.release(slot)

    async def _invoke_with_faults(self, live: _Live, event: Event, context: LambdaContext) -> Invocation:
        started = time.monotonic()
        faults = self._faults
        if faults is None:
            return await self._run(live, event, context, started)
        deadline = started + live.config.timeout_s
        if faults.status is not None and _hit(faults.status.percentage):
            code = faults.status.status_code
            detail = ErrorDetail("InjectedStatus", f"injected status {code}")
            return Invocation(error_response(code, "injected_status", f"injected HTTP status {code}"),
                              context, detail)
        if faults.exception is not None and _hit(faults.exception.percentage):
            try:
                raise FailureInjectionException("injected invocation error")
            except FailureInjectionException as exc:
                detail = ErrorDetail.from_exception(exc)
                return Invocation(function_error(detail), context, detail)
        latency = faults.latency
        if latency is not None and _hit(latency.percentage) and not await _sleep_until(
                time.monotonic() + latency.latency_ms / 1000, deadline):
            response, detail = _timed_out(live.config)
            return Invocation(response, context, detail)
        invocation = await self._run(live, event, context, started)
        slow = faults.timeout
        if slow is not None and _hit(slow.percentage) and not await _sleep_until(
                time.monotonic() + slow.duration_ms / 1000, deadline):
            response, detail = _timed_out(live.config)
            return Invocation(response, context, detail)
        return invocation

    async def _run(self, live: _Live, event: Event, context: LambdaContext, started: float) -> Invocation:
        try:
            if self._executor is None:
                response = live.handler(event, context)
            else:
                remaining = live.config.timeout_s - (time.monotonic() - started)
                future = asyncio.get_running_loop().run_in_executor(self._executor, live.handler, event, context)
                response = await asyncio.wait_for(future, max(remaining, 0.0))
        except TimeoutError:
            response, detail = _timed_out(live.config)
            return Invocation(response, context, detail)
        except Exception as exc:  # noqa: BLE001 - an unhandled exception is the function failing, not the runtime
            detail = ErrorDetail.from_exception(exc)
            return Invocation(function_error(detail), context, detail)
        if time.monotonic() - started > live.config.timeout_s:
            # It ran past its timeout: Lambda would have stopped it, so its answer is lost.
            response, detail = _timed_out(live.config)
            return Invocation(response, context, detail)
        if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
            detail = ErrorDetail("MalformedProxyResponse", f"handler returned {type(response).__name__}")
            return Invocation(function_error(detail), context, detail)
        return Invocation(response, context, context.error)

    def close(self) -> None:
        self._slots.close()
        for code in self.codes.values():
            code.close()


def _hit(percentage: float) -> bool:
    return percentage >= 100 or random.random() * 100 < percentage


async def _sleep_until(wake: float, deadline: float) -> bool:
    """Sleep to `wake`, but not past `deadline`. False when the deadline cut it short."""
    now = time.monotonic()
    if wake <= deadline:
        await asyncio.sleep(max(0.0, wake - now))
        return True
    await asyncio.sleep(max(0.0, deadline - now))
    return False


def _init_failed(exc: Exception) -> Handler:
    def handler(event: Event, context: LambdaContext) -> ProxyResponse:
        raise exc

    return handler
