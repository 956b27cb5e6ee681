"""Detection: what every detection model answers, and the first bad second the load saw.

Two moments matter to an on-call and are reported side by side:

- the **first bad second** (`first_bad_at`): the first whole second at or after the fault whose own
  requests breach the alarm's thresholds (error rate, or the latency statistic): when the users felt it;
- the **alarm time** (`detected_at`): when the alarm went to ALARM after the fault: when the on-call is
  paged, and so when a remediation `when: on-detection` starts.

A `DetectionModel` turns the per-second series into the alarm time: `verify.alarm.CloudWatchAlarmModel`
(the default: CloudWatch's periods, cadence and metric delay) or `verify.detector.Detector` (`trailing`:
a trailing window every second). `verify.detection_models.detection_model()` picks the one the rule names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.latency import LatencyCounts
from verify.slo import AlarmRule, LatencyStatistic
from verify.windows import sample_counts


@dataclass(frozen=True)
class Detection:
    fault_at: float
    detected_at: float  # epoch s: when the alarm went to ALARM (the evaluation that found it)
    reason: str
    alarming_before_fault: bool  # already in ALARM before the fault: the baseline was not steady
    by: str = ""  # what raised it: "cloudwatch model", "trailing model", "alarm todo-api-error-rate"

    @property
    def detection_s(self) -> float:
        return self.detected_at - self.fault_at


class DetectionModel(Protocol):
    """Fed one SecondSample per second in time order; `detection` is set once the alarm fires after the fault."""

    fault_at: float
    detection: Detection | None

    def observe(self, sample: SecondSample) -> Detection | None:
        """Add one second (gaps since the previous one are zero-traffic seconds); the detection, once fired."""

    def never_fired_reason(self) -> str:
        """Why there is no detection (worst figures seen after the fault)."""


def latency_statistic(counts: LatencyCounts, statistic: LatencyStatistic) -> float:
    """The alarm's latency statistic (ms) of merged counts; 0 when nothing was recorded."""
    if statistic is LatencyStatistic.AVG:
        return counts.mean_ms()
    latencies = counts.summary()
    return {
        LatencyStatistic.P90: latencies.p90_ms,
        LatencyStatistic.P99: latencies.p99_ms,
        LatencyStatistic.MAX: latencies.max_ms,
    }[statistic]


def second_breaches(sample: SecondSample, rule: AlarmRule) -> str | None:
    """Why this one second, on its own, breaches the alarm's thresholds (None: it does not, or no traffic)."""
    if sample.requests == 0:
        return None
    if rule.error_rate_above is not None and sample.error_rate > rule.error_rate_above:
        return _("error rate {rate:.1%} > {limit:.1%}").format(rate=sample.error_rate, limit=rule.error_rate_above)
    if rule.latency_ms_above is not None:
        counts = LatencyCounts()
        counts.add(sample_counts(sample))
        value = latency_statistic(counts, rule.latency_statistic)
        if value > rule.latency_ms_above:
            return f"{rule.latency_statistic.value} {value:,.0f} ms > {rule.latency_ms_above:,.0f} ms"
    return None


class FirstBadTracker:
    """The first whole second at or after the fault that breaches the alarm's thresholds on its own."""

    def __init__(self, rule: AlarmRule, fault_at: float) -> None:
        self.rule = rule
        self.fault_at = fault_at
        self.first_t = math.ceil(fault_at)  # the second the fault landed in is a mix of before and after
        self.first_bad_at: float | None = None
        self.reason = ""

    def observe(self, sample: SecondSample) -> float | None:
        if self.first_bad_at is None and sample.t >= self.first_t:
            why = second_breaches(sample, self.rule)
            if why is not None:
                self.first_bad_at, self.reason = float(sample.t), why
        return self.first_bad_at

    @property
    def first_bad_s(self) -> float | None:
        return None if self.first_bad_at is None else self.first_bad_at - self.fault_at


def first_bad_second(series: Iterable[SecondSample], rule: AlarmRule, fault_at: float) -> FirstBadTracker:
    tracker = FirstBadTracker(rule, fault_at)
    for sample in sorted(series, key=lambda s: s.t):
        if tracker.observe(sample) is not None:
            break
    return tracker
