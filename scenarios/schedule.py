"""When each fault and remediation of a drill is due, and when a stop condition trips.

Pure logic over wall-clock times the engine passes in, so it is tested
without load or sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtests.records import SecondSample
from scenarios.models import DrillPlan, PlannedFault, PlannedRemediation, PlannedStop, StopMetric, Trigger


@dataclass
class DrillSchedule:
    plan: DrillPlan
    inject_start: float  # epoch s: end of the baseline
    _faults_done: set[int] = field(default_factory=set)
    _remediations_done: set[int] = field(default_factory=set)

    def due_faults(self, now: float) -> list[tuple[int, PlannedFault]]:
        due = [
            (i, f)
            for i, f in enumerate(self.plan.faults)
            if i not in self._faults_done and now >= self.inject_start + f.at_s
        ]
        self._faults_done.update(i for i, _ in due)
        return due

    def all_faults_injected(self) -> bool:
        return len(self._faults_done) == len(self.plan.faults)

    def due_remediations(
        self, now: float, fault_at: float | None, detected_at: float | None
    ) -> list[tuple[int, PlannedRemediation]]:
        """The steps whose trigger (and delay) have passed, each once, with its index in the scenario."""
        due = []
        for i, step in enumerate(self.plan.remediations):
            if i in self._remediations_done:
                continue
            anchor = {Trigger.ON_DETECTION: detected_at, Trigger.AFTER_FAULT: fault_at}.get(step.when)
            if anchor is not None and now >= anchor + step.delay_s:
                self._remediations_done.add(i)
                due.append((i, step))
        return due

    def remediation_pending(self, fault_at: float | None, detected_at: float | None) -> bool:
        """A remediation whose trigger has happened but which has not run yet."""
        for i, step in enumerate(self.plan.remediations):
            if i in self._remediations_done or step.when is Trigger.NEVER:
                continue
            anchor = {Trigger.ON_DETECTION: detected_at, Trigger.AFTER_FAULT: fault_at}[step.when]
            if anchor is not None:
                return True
        return False

    def deadline(self) -> float:
        """Latest moment the drill may still be waiting for recovery."""
        plan = self.plan
        if plan.max_duration_s is not None:
            return self.inject_start + plan.max_duration_s
        if not plan.faults:
            return self.inject_start + plan.sustained_s
        # No explicit bound: give recovery the RTO twice over, plus the window that confirms it.
        budget = 2 * (plan.rto_s or 0.0) + plan.sustained_s + max((f.at_s for f in plan.faults), default=0.0)
        return self.inject_start + max(budget, plan.sustained_s + 10.0)


@dataclass
class StopWatch:
    """Trips when one metric stays past its bound for `for_s` seconds of the series."""

    condition: PlannedStop
    _breached_since: int | None = None

    def observe(self, sample: SecondSample) -> str | None:
        value = self._value(sample)
        if not self.condition.breached(value):
            self._breached_since = None
            return None
        if self._breached_since is None:
            self._breached_since = sample.t
        lasted = sample.t + 1 - self._breached_since
        if lasted >= max(self.condition.for_s, 1.0):
            return (
                f"stop condition: {self.condition.metric.value} {self.condition.threshold:g} "
                f"breached for {lasted} s (value {value:.3g})"
            )
        return None

    def _value(self, sample: SecondSample) -> float:
        return {
            StopMetric.ERROR_RATE_ABOVE: sample.error_rate if sample.requests else 1.0,
            StopMetric.P90_MS_ABOVE: sample.p90_ms,
            StopMetric.RPS_BELOW: float(sample.requests),
        }[self.condition.metric]
