"""How soon a detection rule can page, and how late, before any drill runs (`hanbit-drill plan`).

Not a formula: the rule's own model (`verify.detection_models`) is run on synthetic per-second series,
one per whole-second fault offset within a clock-aligned period (a fault lands anywhere in a period, and
where it lands decides whether its own period carries enough failures). Each series is healthy long
enough for the evaluation range to hold real datapoints, then fails at a constant error rate from the
fault on. Only the error-rate alarm is judged: the synthetic seconds carry no latencies.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from common.durations import format_duration as fmt
from loadtests.records import SecondSample
from verify.alarm_eval import evaluation_range
from verify.detection_models import detection_model
from verify.slo import AlarmRule

RPS = 100  # enough requests per second that a 6 % error rate is exactly 6 failures
EPOCH_BASE = 1_700_064_000  # a multiple of every period up to a day: offsets are phases of the period


@dataclass(frozen=True)
class DetectionBounds:
    """Earliest and latest alarm time over every fault offset, for one error rate."""

    error_rate: float
    earliest_s: float | None  # None: never fired at any offset
    latest_s: float | None
    offsets: int  # fault offsets tried (whole seconds within a period)
    never: int  # offsets at which the alarm never fired (within `horizon_s`)
    horizon_s: float  # how long after the fault each series ran

    @property
    def always_fires(self) -> bool:
        return self.never == 0 and self.latest_s is not None

    def text(self) -> str:
        if self.earliest_s is None or self.latest_s is None:
            return f"never within {fmt(self.horizon_s)}"
        span = f"+{fmt(self.earliest_s)} to +{fmt(self.latest_s)}"
        if self.never:
            span += f" (never within {fmt(self.horizon_s)} for {self.never} of {self.offsets} offsets)"
        return span


def detection_bounds(rule: AlarmRule, error_rate: float) -> DetectionBounds:
    """Run the rule (seconds already scaled, as a plan's) on one series per fault offset within a period."""
    if rule.error_rate_above is None:
        raise ValueError("the rule has no error-rate alarm")
    errors_only = rule.model_copy(update={"latency_ms_above": None})
    period = rule.whole_period_s
    # Healthy history long enough that, at the fault, the evaluation range holds only real datapoints.
    lead = (evaluation_range(rule.evaluation_periods) + 1) * period + rule.metric_delay_s + 2 * rule.interval_s
    start = EPOCH_BASE - math.ceil(lead / period) * period
    horizon = (evaluation_range(rule.evaluation_periods) + 2) * period + rule.metric_delay_s + 2 * rule.interval_s
    end = EPOCH_BASE + period + math.ceil(horizon)
    # Two versions of every second, built once: each offset's series is the healthy ones up to its fault,
    # then the failing ones (the samples are read, never changed).
    healthy = [_second(t, 0) for t in range(start, end)]
    failing = [_second(t, round(RPS * error_rate)) for t in range(start, end)]
    # The healthy lead up to the fault's period is the same for every offset: fed once, then copied.
    lead_model = detection_model(errors_only, float(EPOCH_BASE))
    first = EPOCH_BASE - start
    for sample in healthy[:first]:
        lead_model.observe(sample)
    found: list[float] = []
    for offset in range(period):
        fault_at = float(EPOCH_BASE + offset)
        model = copy.deepcopy(lead_model)
        model.fault_at = fault_at  # every evaluation so far was at or before EPOCH_BASE: before any fault
        stop = fault_at + horizon
        for before, after in zip(healthy[first:], failing[first:]):
            if before.t >= stop or model.observe(before if before.t < fault_at else after) is not None:
                break
        if model.detection is not None:
            found.append(model.detection.detection_s)
    return DetectionBounds(error_rate, min(found, default=None), max(found, default=None), period,
                           period - len(found), horizon)


def _second(t: int, failed: int) -> SecondSample:
    return SecondSample(t=t, requests=RPS, failures={"http_502": failed} if failed else {})
