"""The `cloudwatch` detection model: the manual's alarms as CloudWatch evaluates them.

Time, as CloudWatch keeps it (all seconds already scaled by the profile, like every wait):

- **Periods** are aligned to the clock: period k covers the epoch seconds `[k*P, (k+1)*P)`, P the period
  in whole seconds. Its datapoint is computed from the load's per-second samples in it: error rate =
  failed / requests, latency = the rule's statistic of the merged histogram. A period without requests
  is a missing datapoint (an outage that stops traffic leaves no metric behind).
- **Evaluations** happen at the multiples of the evaluation interval since the epoch (every minute for
  periods of a minute or more, `AlarmRule.interval_s`).
- An evaluation at time E sees only the datapoints of periods that ended at or before E - the **metric
  delay** (`verify.slo.METRIC_DELAY_S`): the evaluation range is the N + 2 most recent of those
  (`verify.alarm_eval`), and the state follows the documented missing-data rules.

The load is the metric: before its first sample there is none, as before an alarm is created (the
harness's reading: the drill's load is the only traffic it sees, so the minutes before it are not an
outage). Periods that end before the series begins are left out of the evaluation range, and an
evaluation with no period of the series in its range is not made.

Each threshold of the rule is one alarm (error rate, latency), each with its own state, starting in
INSUFFICIENT_DATA. Detection is the first evaluation after the fault in which one of them is in
ALARM: the moment the on-call is paged. An evaluation at E is made once the series has reached E
(a sample for the second before E was seen), so a live drill learns of the alarm when it happens, and
a drill re-judged from its journal finds the same time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.alarm_eval import AlarmState, Datapoint, evaluate_alarm, evaluation_range
from verify.detection import Detection, latency_statistic
from verify.latency import LatencyCounts
from verify.slo import AlarmRule
from verify.windows import sample_counts, with_gaps


@dataclass
class Period:
    """The seconds of one clock-aligned period merged: a datapoint for each alarm."""

    start: int  # epoch s
    requests: int = 0
    failed: int = 0
    counts: LatencyCounts | None = None  # created at the first second with a histogram

    def add(self, sample: SecondSample) -> None:
        self.requests += sample.requests
        self.failed += sample.failed
        if sample.histogram:
            if self.counts is None:
                self.counts = LatencyCounts()
            self.counts.add(sample_counts(sample))

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.requests if self.requests else None


@dataclass(frozen=True)
class Evaluation:
    at: float  # epoch s
    state: AlarmState
    datapoints: str  # the evaluation range in the documentation's notation, oldest first: 0 X -


ERROR_RATE = "error rate"


@dataclass
class MetricAlarm:
    """One CloudWatch alarm of the rule: a metric of each period against a threshold."""

    label: str  # "error rate", "p90": the alarm's key (ERROR_RATE, or the latency statistic's name)
    threshold: float
    value: Callable[[Period], float | None]  # the period's datapoint, None when missing
    show: Callable[[float], str]  # a value as the reports print it
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    history: list[Evaluation] = field(default_factory=list)
    worst_after_fault: float | None = None

    @property
    def title(self) -> str:
        """The label as people read it (a latency statistic's name reads the same in every language)."""
        return _("error rate") if self.label == ERROR_RATE else self.label

    def describe(self, value: float) -> str:
        return f"{self.title} {self.show(value)} > {self.show(self.threshold)}"


def metric_alarms(rule: AlarmRule) -> list[MetricAlarm]:
    alarms = []
    if rule.error_rate_above is not None:
        alarms.append(MetricAlarm(ERROR_RATE, rule.error_rate_above, lambda p: p.error_rate, lambda v: f"{v:.1%}"))
    if rule.latency_ms_above is not None:
        stat = rule.latency_statistic

        def latency(period: Period) -> float | None:
            if not period.requests or period.counts is None or period.counts.total == 0:
                return None
            return latency_statistic(period.counts, stat)

        alarms.append(MetricAlarm(stat.value, rule.latency_ms_above, latency, lambda v: f"{v:,.0f} ms"))
    return alarms


class CloudWatchAlarmModel:
    """Feeds on SecondSamples in time order; `detection` is set once an alarm goes to ALARM after the fault."""

    by = "cloudwatch model"

    def __init__(self, rule: AlarmRule, fault_at: float) -> None:
        self.rule = rule
        self.fault_at = fault_at
        self.period_s = rule.whole_period_s
        self.interval_s = rule.interval_s
        self.delay_s = rule.metric_delay_s
        self.range = evaluation_range(rule.evaluation_periods)
        self.alarms = metric_alarms(rule)
        self.detection: Detection | None = None
        self.evaluated_after_fault = 0
        self._periods: dict[int, Period] = {}
        self._next_eval: int | None = None  # index j of the next evaluation, at j * interval
        self._last_t: int | None = None
        self._first_period: int | None = None  # the period of the series' first second
        self._state_at_fault: dict[str, AlarmState] = {}

    def observe(self, sample: SecondSample) -> Detection | None:
        """Add one second (gaps since the previous one are seconds without traffic); the detection, once fired."""
        for second in with_gaps(self._last_t, sample):
            self._step(second)
        return self.detection

    def _step(self, sample: SecondSample) -> None:
        self._last_t = sample.t
        k = sample.t // self.period_s
        if self._next_eval is None:
            self._next_eval = math.ceil(sample.t / self.interval_s - 1e-9)
            self._first_period = k
        period = self._periods.get(k)
        if period is None:
            period = self._periods[k] = Period(k * self.period_s)
        period.add(sample)
        # The series now reaches sample.t + 1: every evaluation up to then can be made.
        while self._next_eval * self.interval_s <= sample.t + 1 + 1e-9:
            self._evaluate(self._next_eval * self.interval_s)
            self._next_eval += 1

    def _evaluate(self, at: float) -> None:
        last = math.floor((at - self.delay_s) / self.period_s + 1e-9) - 1  # the last period ended by then
        assert self._first_period is not None
        keys = range(max(last - self.range + 1, self._first_period), last + 1)
        for old in [k for k in self._periods if k < keys.start]:
            del self._periods[old]
        if not keys:
            return  # no period of the series has ended and landed yet: nothing to evaluate
        periods = [self._periods.get(k) for k in keys]
        after_fault = at > self.fault_at
        self.evaluated_after_fault += after_fault
        for alarm in self.alarms:
            values = [None if p is None else alarm.value(p) for p in periods]
            points: list[Datapoint] = [None if v is None else v > alarm.threshold for v in values]
            alarm.state = evaluate_alarm(points, self.rule.evaluation_periods, self.rule.m,
                                         self.rule.treat_missing_data, alarm.state)
            alarm.history.append(Evaluation(at, alarm.state, _notation(points)))
            if not after_fault:
                self._state_at_fault[alarm.label] = alarm.state
                continue
            ended_after = [v for k, v in zip(keys, values) if v is not None and (k + 1) * self.period_s > self.fault_at]
            if ended_after:
                alarm.worst_after_fault = max([*ended_after, alarm.worst_after_fault or 0.0])
            if self.detection is None and alarm.state is AlarmState.ALARM:
                self.detection = self._detected(alarm, at, values)

    def _detected(self, alarm: MetricAlarm, at: float, values: list[float | None]) -> Detection:
        worst = max((v for v in values if v is not None), default=None)
        what = (alarm.describe(worst) if worst is not None and worst > alarm.threshold
                else _("{metric} data missing").format(metric=alarm.title))
        reason = _(
            "{what}: {datapoints} ({m} of {n} datapoints of {period} s, treat missing data: {treat_missing}, "
            "metrics {delay:g} s late)"
        ).format(what=what, datapoints=alarm.history[-1].datapoints, m=self.rule.m, n=self.rule.evaluation_periods,
                 period=self.period_s, treat_missing=self.rule.treat_missing_data.value, delay=self.delay_s)
        before = self._state_at_fault.get(alarm.label) is AlarmState.ALARM
        return Detection(self.fault_at, at, reason, before, by=self.by)

    def never_fired_reason(self) -> str:
        if self.evaluated_after_fault == 0:
            return _("the alarm was never evaluated after the fault (the load ended first)")
        worst = ", ".join(
            _("{metric} {worst} (limit {limit}, last {state})").format(
                metric=a.title, worst="-" if a.worst_after_fault is None else a.show(a.worst_after_fault),
                limit=a.show(a.threshold), state=a.state.value)
            for a in self.alarms
        ) or _("no threshold set")
        return _(
            "the alarm never went to ALARM in {evaluations} evaluation(s) after the fault: worst {period} s "
            "datapoint {worst}"
        ).format(evaluations=self.evaluated_after_fault, period=self.period_s, worst=worst)


def _notation(points: Iterable[Datapoint]) -> str:
    return " ".join("-" if p is None else ("X" if p else "0") for p in points)


def period_error_rates(series: Iterable[SecondSample], period_s: int) -> list[tuple[int, float | None]]:
    """Each clock-aligned period's error rate (start, rate; None without requests), for the charts."""
    totals: dict[int, list[int]] = {}
    for sample in series:
        counts = totals.setdefault(sample.t // period_s, [0, 0])
        counts[0] += sample.requests
        counts[1] += sample.failed
    return [(k * period_s, failed / requests if requests else None) for k, (requests, failed) in sorted(totals.items())]
