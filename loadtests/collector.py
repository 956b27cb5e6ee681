"""Worker side of the per-second stream: requests are filed under the second they were *intended* in.

A second is closed (handed to the master) only once no request intended in it can still be running or
be scheduled into it, so a slow second is never split into a dip and a later burst. Requests carry a
deadline (intended time + request timeout), so every second closes at most about that long after it
ends; a hard hold limit covers a generator so stalled that even deadlines are missed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from loadtests.partial import SecondPartial
from loadtests.records import GeneratorHealth

log = logging.getLogger(__name__)

_HEALTH_WAIT_S = 0.5


class SecondCollector:
    """Aggregates one worker's requests into `SecondPartial`s, closed in order of `t`."""

    def __init__(self, start_epoch: float, max_hold_s: float, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._next_t = math.floor(start_epoch)  # first second not yet closed
        self._open: dict[int, SecondPartial] = {}
        self._pending: dict[int, int] = {}
        self._health: dict[int, GeneratorHealth] = {}
        self._users: dict[int, int] = {}
        self._max_hold_s = max_hold_s
        # Open model: the intended time of the next arrival the scheduler has not registered yet.
        # None (closed model): registrations are never earlier than the moment they are made.
        self.watermark: float | None = None
        self.late_results = 0  # results that arrived after their second was closed by force
        self.in_flight = 0

    def _partial(self, t: int) -> SecondPartial:
        part = self._open.get(t)
        if part is None:
            part = self._open[t] = SecondPartial(t)
        return part

    def expect(self, intended: float) -> int:
        """Register a request intended at `intended`; returns its second for `record`/`cancel`."""
        t = math.floor(intended)
        # Only a generator far behind its schedule files into a closed second: use the oldest open one.
        t = max(t, self._next_t)
        self._pending[t] = self._pending.get(t, 0) + 1
        self.in_flight += 1
        return t

    def _done(self, t: int) -> bool:
        self.in_flight -= 1
        left = self._pending.get(t, 0) - 1
        if left <= 0:
            self._pending.pop(t, None)
        else:
            self._pending[t] = left
        return t >= self._next_t

    def record(
        self, t: int, latency_us: int, failure: str | None, *, created: bool = False, completed: bool = False
    ) -> None:
        if not self._done(t):
            self.late_results += 1
            return
        part = self._partial(t)
        part.record(latency_us, failure)
        if created:
            part.todos_created += 1
        if completed:
            part.todos_completed += 1

    def cancel(self, t: int) -> None:
        """A registered request that was never made (the run ended first)."""
        self._done(t)

    def note_health(self, t: int, health: GeneratorHealth, users: int) -> None:
        """Generator health and active users measured during wall-clock second `t`."""
        self._health[t] = health
        self._users[t] = users

    def close_ready(self, until: int | None = None) -> list[SecondPartial]:
        """Seconds that can no longer change, oldest first. `until`: the run is over, close every second
        before it, whatever is still pending (once its health is measured)."""
        now = self._clock()
        horizon = now if self.watermark is None else min(now, self.watermark)
        closed: list[SecondPartial] = []
        while True:
            t = self._next_t
            pending = self._pending.get(t, 0)
            # Wait (briefly) for the monitor's health of second t too, so it is never left out.
            measured = t in self._health or now >= t + 1 + _HEALTH_WAIT_S
            over = t + 1 <= horizon and pending == 0 and measured
            forced = now >= t + 1 + self._max_hold_s
            if until is not None:
                if t >= until or not (measured or forced):
                    break
            elif not (over or forced):
                break
            part = self._open.pop(t, None) or SecondPartial(t)
            if pending:
                part.incomplete = pending
                self._pending.pop(t, None)
                log.warning("second %d closed with %d requests still in flight", t, pending)
            if t in self._health:
                part.health = self._health.pop(t)
            part.users = self._users.pop(t, 0)
            closed.append(part)
            self._next_t = t + 1
        return closed

    @property
    def next_t(self) -> int:
        return self._next_t
