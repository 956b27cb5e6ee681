"""Master side of the per-second stream: merge every worker's share of a second into one SecondSample.

Histograms are added bucket by bucket (never percentiles averaged); a second is emitted once every
worker has reported it, or after a grace period if one worker is late or gone, and always in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loadtests.partial import SecondPartial
from loadtests.records import GeneratorHealth, SecondSample

log = logging.getLogger(__name__)

PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def sample_from(part: SecondPartial, target_rps: float | None) -> SecondSample:
    """A SecondSample with the percentiles read from the (merged) histogram, microseconds to ms."""
    hist = part.histogram
    if part.requests:
        pct = hist.get_percentile_to_value_dict(list(PERCENTILES))
        p50, p90, p95, p99 = (pct.get(p, 0) / 1000.0 for p in PERCENTILES)
        top = hist.get_max_value() / 1000.0
        encoded = hist.encode().decode()
    else:
        p50 = p90 = p95 = p99 = top = 0.0
        encoded = ""
    return SecondSample(
        t=part.t,
        requests=part.requests,
        failures=dict(sorted(part.failures.items())),
        histogram=encoded,
        p50_ms=p50,
        p90_ms=p90,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=top,
        todos_created=part.todos_created,
        todos_completed=part.todos_completed,
        users=part.users,
        target_rps=target_rps,
        generator=part.health,
    )


def merge_health(a: GeneratorHealth, b: GeneratorHealth) -> GeneratorHealth:
    return GeneratorHealth(
        cpu_percent=max(a.cpu_percent, b.cpu_percent),
        loop_lag_ms=max(a.loop_lag_ms, b.loop_lag_ms),
        saturated=a.saturated or b.saturated,
    )


@dataclass
class _Pending:
    merged: SecondPartial
    reporters: set[str] = field(default_factory=set)
    first_seen: float = 0.0


class SecondMerger:
    """Collects SecondPartials from workers and releases merged SecondSamples in order of `t`."""

    def __init__(
        self,
        target_rps: Callable[[int], float | None],
        grace_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target_rps = target_rps
        self._grace_s = grace_s
        self._clock = clock
        self._pending: dict[int, _Pending] = {}
        self._emitted_until: int | None = None  # every t below it has been emitted
        self._own_health: dict[int, GeneratorHealth] = {}
        self.late_partials = 0

    def add(self, worker: str, part: SecondPartial) -> None:
        if self._emitted_until is not None and part.t < self._emitted_until:
            self.late_partials += 1
            log.warning("worker %s reported second %d after it was emitted", worker, part.t)
            return
        entry = self._pending.get(part.t)
        if entry is None:
            entry = self._pending[part.t] = _Pending(SecondPartial(part.t), first_seen=self._clock())
        m = entry.merged
        m.requests += part.requests
        for kind, n in part.failures.items():
            m.failures[kind] = m.failures.get(kind, 0) + n
        if part.requests:
            m.histogram.add(part.histogram)
        m.todos_created += part.todos_created
        m.todos_completed += part.todos_completed
        m.users += part.users
        m.incomplete += part.incomplete
        m.health = merge_health(m.health, part.health)
        entry.reporters.add(worker)

    def note_own_health(self, t: int, health: GeneratorHealth) -> None:
        """The master is part of the generator too: its health joins every worker's."""
        self._own_health[t] = health

    def ready(self, workers: set[str], flush: bool = False) -> list[SecondSample]:
        """Seconds reported by all `workers` (or waited for long enough), oldest first."""
        out: list[SecondSample] = []
        now = self._clock()
        for t in sorted(self._pending):
            entry = self._pending[t]
            complete = workers <= entry.reporters
            if not (complete or flush or now - entry.first_seen >= self._grace_s):
                break
            if not complete:
                log.warning("second %d emitted without workers %s", t, sorted(workers - entry.reporters))
            del self._pending[t]
            part = entry.merged
            if t in self._own_health:
                part.health = merge_health(part.health, self._own_health.pop(t))
            out.append(sample_from(part, self._target_rps(t)))
            self._emitted_until = t + 1
        for old in [k for k in self._own_health if self._emitted_until is not None and k < self._emitted_until]:
            del self._own_health[old]
        return out

    @property
    def pending(self) -> int:
        return len(self._pending)

