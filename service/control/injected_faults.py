"""The function's injected faults as invocations meet them: drawn per invocation against their
percentage, answered with what was built once, when the fault was set.

During a fault every invocation it hits fails the same way. Built per request (an exception
raised and its traceback formatted only to be logged), a failure cost several times what a
served request does, just when a drill loads the service; so the answers of the failing
faults, response and the log line's `error` (its stack from one real raise), are built here.
"""

from __future__ import annotations

import random

from service.control.state import FunctionFaults
from service.proxy import error_response
from service.runtime.function import ErrorDetail, Failure, function_error


class FailureInjectionException(Exception):
    """Raised by the runtime for the `exception` fault (failure-lambda / FIS invocation-error)."""


def _injected_exception() -> ErrorDetail:
    try:
        raise FailureInjectionException("injected invocation error")
    except FailureInjectionException as exc:
        return ErrorDetail.from_exception(exc)


class InjectedFaults:
    """One setting of the function's faults (`settings`), ready for the invocation path."""

    def __init__(self, settings: FunctionFaults) -> None:
        self.settings = settings
        # The faults that answer instead of the handler, drawn in this order.
        self._failures: list[tuple[float, Failure]] = []
        if settings.status is not None:
            code = settings.status.status_code
            self._failures.append((settings.status.percentage, Failure(
                error_response(code, "injected_status", f"injected HTTP status {code}"),
                ErrorDetail("InjectedStatus", f"injected status {code}"))))
        if settings.exception is not None:
            detail = _injected_exception()
            self._failures.append((settings.exception.percentage, Failure(function_error(detail), detail)))
        latency, slow = settings.latency, settings.timeout
        self._start_delay = None if latency is None else (latency.percentage, latency.latency_ms / 1000)
        self._extra_run = None if slow is None else (slow.percentage, slow.duration_ms / 1000)

    def failure(self) -> Failure | None:
        """The answer of a status or exception fault drawn for this invocation (the handler does
        not run), or None."""
        for percentage, failure in self._failures:
            if _hit(percentage):
                return failure
        return None

    def start_delay_s(self) -> float:
        """Latency added before the handler runs, drawn for this invocation (0: none)."""
        return self._start_delay[1] if self._start_delay is not None and _hit(self._start_delay[0]) else 0.0

    def extra_run_s(self) -> float:
        """Run time added after the handler, drawn for this invocation (0: none)."""
        return self._extra_run[1] if self._extra_run is not None and _hit(self._extra_run[0]) else 0.0


def _hit(percentage: float) -> bool:
    return percentage >= 100 or random.random() * 100 < percentage
