"""Recovery time: from fault injection to the start of the first sustained healthy window.

Only whole seconds that begin at or after the fault are judged (the second in
which the fault landed is a mix). A healthy second meets the SLO's p90, p95,
optional p99 and error rate and has traffic; `sustained_s` consecutive healthy
seconds (rounded up, at least 1) make a recovery, dated at the window's first
second. A gap in the series is zero traffic, so it breaks a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.slo import Slo
from verify.windows import SecondHealth, second_health, with_gaps


@dataclass(frozen=True)
class Recovery:
    fault_at: float
    recovered_at: float  # epoch s: start of the first sustained healthy window
    confirmed_at: float  # epoch s: its end, when a live drill can know it recovered

    @property
    def recovery_s(self) -> float:
        return self.recovered_at - self.fault_at


def sustained_seconds(sustained_s: float) -> int:
    return max(1, math.ceil(sustained_s - 1e-9))


class RecoveryTracker:
    """Feeds on SecondSamples in time order; `recovery` is set once the SLO held for the sustained window."""

    def __init__(self, slo: Slo, fault_at: float, sustained_s: float) -> None:
        if sustained_s < 0:
            raise ValueError("sustained_s must be >= 0")
        self.slo = slo
        self.fault_at = fault_at
        self.window_s = sustained_seconds(sustained_s)
        self.first_t = math.ceil(fault_at)
        self.recovery: Recovery | None = None
        self.judged_seconds = 0
        self.unhealthy_seconds = 0
        self.longest_healthy_run = 0
        self.last_unhealthy: SecondHealth | None = None
        self._run_start: int | None = None
        self._last_t: int | None = None

    def observe(self, sample: SecondSample) -> Recovery | None:
        """Add one second (gaps since the previous one are zero-traffic seconds); return the recovery if any."""
        for second in with_gaps(self._last_t, sample):
            self._step(second)
        return self.recovery

    def _step(self, sample: SecondSample) -> None:
        self._last_t = sample.t
        if sample.t < self.first_t or self.recovery is not None:
            return
        self.judged_seconds += 1
        health = second_health(sample, self.slo)
        if not health.healthy:
            self.unhealthy_seconds += 1
            self.last_unhealthy = health
            self._run_start = None
            return
        if self._run_start is None:
            self._run_start = sample.t
        run = sample.t - self._run_start + 1
        self.longest_healthy_run = max(self.longest_healthy_run, run)
        if run >= self.window_s:
            self.recovery = Recovery(self.fault_at, float(self._run_start), float(sample.t + 1))

    def never_recovered_reason(self) -> str:
        if self.judged_seconds == 0:
            return _("no load was measured after the fault")
        why = ""
        if self.last_unhealthy is not None:
            why = "; " + _("last unhealthy second at +{seconds:.0f} s: {reasons}").format(
                seconds=self.last_unhealthy.t - self.fault_at, reasons=", ".join(self.last_unhealthy.reasons))
        return _(
            "never recovered: the SLO did not hold for {window} consecutive seconds ({unhealthy} of {judged} s "
            "after the fault unhealthy, longest healthy run {longest} s{why})"
        ).format(window=self.window_s, unhealthy=self.unhealthy_seconds, judged=self.judged_seconds,
                 longest=self.longest_healthy_run, why=why)


def find_recovery(
    series: Iterable[SecondSample], slo: Slo, fault_at: float, sustained_s: float
) -> RecoveryTracker:
    """Run a RecoveryTracker over a whole series (sorted by time); read `.recovery` from the result."""
    tracker = RecoveryTracker(slo, fault_at, sustained_s)
    for sample in sorted(series, key=lambda s: s.t):
        tracker.observe(sample)
        if tracker.recovery is not None:
            break
    return tracker
