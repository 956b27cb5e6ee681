"""The `trailing` detection model: the manual's alarm rule on a trailing window, evaluated every second.

This was the harness's first model, kept for comparison (`detection.model: trailing`); the default
is `verify.alarm`'s CloudWatch model, whose periods, cadence and metric delay page the on-call minutes
later than this one. The rule is evaluated on a trailing period: after each
second, over the last `period_s * time_scale` seconds (at least 1), the error
rate is failed / all requests and the latency is the rule's statistic (p90 by
default) of the merged histogram. A period with no requests at all breaches (missing data from a
dead target is treated as breaching). The alarm counts as fired at the end of
the second whose evaluation breached, since only then was the data complete.

The engine feeds `Detector.observe` one sample per second while the drill
runs; `detect()` feeds the whole series afterwards, so both agree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.detection import Detection, latency_statistic
from verify.latency import LatencyCounts, SparseCounts
from verify.slo import AlarmRule
from verify.windows import sample_counts, with_gaps

__all__ = ["Detection", "Detector", "detect", "scaled_period_s"]


@dataclass(frozen=True)
class _Second:
    t: int
    requests: int
    failed: int
    counts: SparseCounts


def scaled_period_s(rule: AlarmRule, time_scale: float) -> int:
    """The alarm period in whole seconds after scaling, never below one second."""
    return max(1, math.ceil(rule.period_s * time_scale - 1e-9))


class Detector:
    """Feeds on SecondSamples in time order; `detection` is set once the alarm fires after the fault."""

    by = "trailing model"

    def __init__(self, rule: AlarmRule, fault_at: float, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.rule = rule
        self.fault_at = fault_at
        self.period_s = scaled_period_s(rule, time_scale)
        self.detection: Detection | None = None
        self.peak_error_rate = 0.0  # worst trailing error rate seen after the fault
        self.peak_p90_ms = 0.0  # worst trailing p90 seen after the fault
        self._window: deque[_Second] = deque()
        self._counts = LatencyCounts()
        self._requests = 0
        self._failed = 0
        self._last_t: int | None = None
        self._breaching_before_fault = False

    def observe(self, sample: SecondSample) -> Detection | None:
        """Add one second (gaps since the previous one count as zero traffic); return the detection if fired."""
        for second in with_gaps(self._last_t, sample):
            self._step(second)
        return self.detection

    def _step(self, sample: SecondSample) -> None:
        self._last_t = sample.t
        second = _Second(sample.t, sample.requests, sample.failed, sample_counts(sample))
        self._window.append(second)
        self._add(second, +1)
        while self._window and self._window[0].t <= sample.t - self.period_s:
            self._add(self._window.popleft(), -1)
        evaluated_at = float(sample.t + 1)
        reason = self._breach()
        if evaluated_at <= self.fault_at:
            self._breaching_before_fault = reason is not None
            return
        if self.detection is None and reason is not None:
            self.detection = Detection(self.fault_at, evaluated_at, reason, self._breaching_before_fault, self.by)

    def _add(self, second: _Second, sign: int) -> None:
        self._requests += sign * second.requests
        self._failed += sign * second.failed
        if sign > 0:
            self._counts.add(second.counts)
        else:
            self._counts.subtract(second.counts)

    def _breach(self) -> str | None:
        """Why the trailing period breaches the rule, or None if it does not."""
        if self._requests == 0:
            return _("no requests over {period} s").format(period=self.period_s)
        rate = self._failed / self._requests
        stat = self.rule.latency_statistic
        p90 = latency_statistic(self._counts, stat) if self.rule.latency_ms_above is not None else 0.0
        if self._last_t is not None and self._last_t + 1 > self.fault_at:
            self.peak_error_rate = max(self.peak_error_rate, rate)
            self.peak_p90_ms = max(self.peak_p90_ms, p90)
        limit = self.rule.error_rate_above
        if limit is not None and rate > limit:
            return _("error rate {rate:.1%} > {limit:.1%} over {period} s").format(
                rate=rate, limit=limit, period=self.period_s)
        latency = self.rule.latency_ms_above
        if latency is not None and p90 > latency:
            return _("{statistic} {value:,.0f} ms > {limit:,.0f} ms over {period} s").format(
                statistic=stat.value, value=p90, limit=latency, period=self.period_s)
        return None

    def never_fired_reason(self) -> str:
        return _(
            "the alarm never fired after the fault: worst {period} s period had error rate {rate:.1%} and "
            "{statistic} {value:,.0f} ms"
        ).format(period=self.period_s, rate=self.peak_error_rate, statistic=self.rule.latency_statistic.value,
                 value=self.peak_p90_ms)


def detect(
    series: Iterable[SecondSample], rule: AlarmRule, fault_at: float, time_scale: float = 1.0
) -> Detector:
    """Run a Detector over a whole series (sorted by time); read `.detection` from the result."""
    detector = Detector(rule, fault_at, time_scale)
    for sample in sorted(series, key=lambda s: s.t):
        detector.observe(sample)
        if detector.detection is not None:
            break
    return detector
