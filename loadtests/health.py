"""Is the load generator itself the bottleneck? CPU and event-loop lag of each Locust process.

A generator that is busy or starved of CPU sends late and reads responses late; since latency is
measured from the intended send time, that delay would be billed to the target. Each process measures
its own CPU share and how late a short gevent sleep wakes up, per wall-clock second, and marks the
second saturated so the results can say so.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import gevent
import psutil

from loadtests.records import GeneratorHealth

SATURATED_CPU_PERCENT = 90.0  # of one core: a gevent process cannot use more than one
SATURATED_LAG_MS = 50.0
_PROBE_S = 0.02
# Test hook: burn this many ms of CPU in the event loop every 100 ms, to force saturation for real.
BURN_ENV = "HANBIT_LOAD_BURN_MS"


def is_saturated(cpu_percent: float, loop_lag_ms: float) -> bool:
    return cpu_percent >= SATURATED_CPU_PERCENT or loop_lag_ms >= SATURATED_LAG_MS


class GeneratorMonitor:
    """A greenlet that reports `(second, GeneratorHealth)` for every wall-clock second to `sink`."""

    def __init__(self, sink: Callable[[int, GeneratorHealth], None]) -> None:
        self._sink = sink
        self._proc = psutil.Process()
        self._greenlets: list[gevent.Greenlet] = []

    def start(self) -> None:
        self._proc.cpu_percent(None)  # the first call only sets the reference point
        self._greenlets.append(gevent.spawn(self._run))
        burn_ms = float(os.environ.get(BURN_ENV, "0") or 0)
        if burn_ms > 0:
            self._greenlets.append(gevent.spawn(_burn, burn_ms / 1000.0))

    def stop(self) -> None:
        gevent.killall(self._greenlets, block=False)
        self._greenlets.clear()

    def _run(self) -> None:
        second = math.floor(time.time())
        max_lag = 0.0
        while True:
            t0 = time.perf_counter()
            gevent.sleep(_PROBE_S)
            max_lag = max(max_lag, time.perf_counter() - t0 - _PROBE_S)
            now = math.floor(time.time())
            if now != second:
                cpu = self._proc.cpu_percent(None)
                lag_ms = max_lag * 1000.0
                self._sink(second, GeneratorHealth(cpu_percent=cpu, loop_lag_ms=lag_ms, saturated=is_saturated(cpu, lag_ms)))
                second, max_lag = now, 0.0


def _burn(busy_s: float) -> None:
    while True:
        end = time.perf_counter() + busy_s
        while time.perf_counter() < end:  # deliberately blocks the event loop
            pass
        gevent.sleep(max(0.1 - busy_s, 0.001))
