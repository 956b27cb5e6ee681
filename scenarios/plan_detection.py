"""`plan`'s detection section: how soon and how late the alarm can page, and whether the RTO survives it.

The earliest and latest alarm times come from running the drill's own detection model on synthetic
series over every fault offset within a period (`verify.alarm_worst_case`), after a total outage and
after a 6 % error rate (the manual's "intermittent 5XX on about 5 % of requests", just over the alarm's
5 %). A remediation `when: on-detection` cannot start before the alarm: when the latest alarm plus the
remediation delay is past the RTO, the drill can fail however fast the runbook is, and `plan` says so.
When the scenario has its own alarm, the manual's is shown beside it.
"""

from __future__ import annotations

from collections.abc import Callable

from common.durations import format_duration as fmt
from scenarios.models import DrillPlan, Trigger
from verify.alarm_worst_case import DetectionBounds, detection_bounds
from verify.slo import AlarmRule

ERROR_RATES = ((1.0, "a total outage"), (0.06, "a 6% error rate"))


def print_detection(plan: DrillPlan, say: Callable[[str], None]) -> None:
    if not plan.faults or not _detects(plan):
        return
    say(f"detection ({plan.detection.model.value} model): {plan.detection.describe()}")
    delay = _remediation_delay(plan)
    if plan.detection.error_rate_above is None:
        say("  (no error-rate alarm: earliest and latest detection not computed)")
        say("")
        return
    outage: DetectionBounds | None = None
    for rate, what in ERROR_RATES:
        bounds = detection_bounds(plan.detection, rate)
        outage = outage or bounds
        say(f"  after {what}: the alarm pages {bounds.text()} after the fault")
    assert outage is not None
    if (problem := _past_rto(plan, outage, delay)) is not None:
        say(f"  warning: after a total outage {problem}")
    manual = AlarmRule().scaled(plan.time_scale)
    if plan.detection != manual and manual.error_rate_above is not None:
        theirs = detection_bounds(manual, 1.0)
        verdict = _past_rto(plan, theirs, delay) or "the runbook would start within the RTO"
        say(f"  the manual's alarm ({manual.describe()}) would page {theirs.text()} after a total outage: {verdict}")
    say("")


def _detects(plan: DrillPlan) -> bool:
    return any(c.value == "detection" for c in plan.checks) or any(
        r.when is Trigger.ON_DETECTION for r in plan.remediations
    )


def _remediation_delay(plan: DrillPlan) -> float | None:
    """The longest delay of the steps that wait for the alarm (None: no step waits for it)."""
    delays = [r.delay_s for r in plan.remediations if r.when is Trigger.ON_DETECTION]
    return max(delays) if delays else None


def _past_rto(plan: DrillPlan, bounds: DetectionBounds, delay: float | None) -> str | None:
    """Why the runbook may start too late for the RTO (None: it starts in time, or nothing waits for the alarm)."""
    if plan.rto_s is None or delay is None:
        return None
    if bounds.latest_s is None or not bounds.always_fires:
        return f"the alarm does not always page, and the runbook waits for it: the RTO ({fmt(plan.rto_s)}) is not met"
    start = bounds.latest_s + delay
    if start <= plan.rto_s:
        return None
    return (f"the alarm may page only at +{fmt(bounds.latest_s)}; with the runbook's {fmt(delay)} delay its first "
            f"step starts at +{fmt(start)}, past the RTO ({fmt(plan.rto_s)})")
