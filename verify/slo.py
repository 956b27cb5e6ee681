"""The promises a drill is judged against: SLO targets and the alarm rule that counts as detection."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.durations import format_duration as fmt
from common.messages import gettext as _

# When a period's datapoint can be read by an alarm, after its period ends. API Gateway and Lambda publish
# their metrics in one-minute periods ("By default, API Gateway metric data is automatically sent to
# CloudWatch in one-minute periods": docs.aws.amazon.com/apigateway/latest/developerguide/monitoring-cloudwatch.html;
# "Lambda sends metric data to CloudWatch in 1-minute intervals": docs.aws.amazon.com/lambda/latest/dg/
# monitoring-metrics.html), so the last minute of a period lands about a minute after the period closed.
METRIC_DELAY_S = 60.0

# How often CloudWatch evaluates an alarm whose period is a minute or more (shorter, high-resolution
# periods are evaluated more often: here, once per period).
EVALUATION_EVERY_S = 60.0

# "The number of evaluation periods for an alarm multiplied by the length of each evaluation period
# can't exceed one day" (CloudWatch User Guide, Common features of CloudWatch alarms).
MAX_EVALUATED_S = 86_400.0


class Slo(BaseModel):
    """Defaults are the operations manual's: p90 < 200 ms, SLA p95 < 500 ms, errors < 1 %, 99.9 % available."""

    model_config = ConfigDict(extra="forbid")

    p90_ms: float = Field(200.0, gt=0)
    p95_ms: float = Field(500.0, gt=0)
    p99_ms: float | None = Field(None, gt=0, description="optional; not a manual target")
    error_rate: float = Field(0.01, ge=0, le=1, description="failed / all requests")
    availability: float = Field(0.999, ge=0, le=1, description="share of seconds in which the SLO held")
    min_rps: float | None = Field(None, ge=0, description="optional floor on achieved RPS")


class DetectionModelName(StrEnum):
    CLOUDWATCH = "cloudwatch"  # whole clock-aligned periods, evaluated once a minute after the metrics land
    TRAILING = "trailing"  # a trailing window evaluated every second (the harness's first model)


class TreatMissingData(StrEnum):
    """CloudWatch's TreatMissingData values, spelled as the API spells them."""

    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"
    IGNORE = "ignore"
    MISSING = "missing"


class LatencyStatistic(StrEnum):
    P90 = "p90"
    P99 = "p99"
    AVG = "avg"
    MAX = "max"


class AlarmRule(BaseModel):
    """The manual's CloudWatch alarms: error rate > 5 % or latency > 1,000 ms, each over a 300 s period.

    Each threshold is one alarm (the manual has two); detection is the first of them to go to ALARM.
    Every `_s` field is a wait and is scaled by the profile's `time_scale` (`scaled()`): a resolved
    plan's rule holds scaled seconds.
    """

    model_config = ConfigDict(extra="forbid")

    model: DetectionModelName = Field(DetectionModelName.CLOUDWATCH, description="how the alarm is evaluated")
    error_rate_above: float | None = Field(0.05, ge=0, le=1)
    latency_ms_above: float | None = Field(1000.0, gt=0, description="the latency statistic over a period")
    latency_statistic: LatencyStatistic = LatencyStatistic.P90
    period_s: float = Field(300.0, gt=0)
    evaluation_periods: int = Field(1, ge=1, description="N: the datapoints evaluated")
    datapoints_to_alarm: int | None = Field(None, ge=1, description="M of N breaching go to ALARM; default N")
    treat_missing_data: TreatMissingData = TreatMissingData.MISSING
    metric_delay_s: float = Field(METRIC_DELAY_S, ge=0, description="a datapoint is readable this long after its period")
    evaluation_interval_s: float | None = Field(
        None, gt=0, description="derived: 60 s for periods of a minute or more, else the period"
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> Self:
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) cannot exceed evaluation_periods "
                f"({self.evaluation_periods})"
            )
        if self.evaluation_periods * self.period_s > MAX_EVALUATED_S:
            raise ValueError("evaluation_periods x period_s cannot exceed one day (a CloudWatch limit)")
        return self

    @property
    def m(self) -> int:
        """Datapoints to alarm (M of N)."""
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def interval_s(self) -> float:
        """How often the alarm is evaluated (seconds, as scaled as the rule is)."""
        if self.evaluation_interval_s is not None:
            return self.evaluation_interval_s
        return EVALUATION_EVERY_S if self.period_s >= EVALUATION_EVERY_S else self.period_s

    @property
    def whole_period_s(self) -> int:
        """The period in whole seconds, at least one: datapoints are built from per-second samples."""
        return max(1, math.ceil(self.period_s - 1e-9))

    def scaled(self, time_scale: float) -> AlarmRule:
        """Every wait of the rule multiplied by `time_scale`; the evaluation interval is derived from the
        unscaled period first (a 300 s alarm is evaluated every 60 s, so every 3 s at 0.05)."""
        return self.model_copy(update={
            "period_s": self.period_s * time_scale,
            "metric_delay_s": self.metric_delay_s * time_scale,
            "evaluation_interval_s": self.interval_s * time_scale,
        })

    def describe(self) -> str:
        """One line, e.g. `error rate > 5% or p90 > 1,000 ms, 1 of 1 datapoint(s) of 5m, ..., evaluated every 1m`."""
        parts = []
        if self.error_rate_above is not None:
            parts.append(_("error rate > {percent:.6g}%").format(percent=self.error_rate_above * 100))
        if self.latency_ms_above is not None:
            parts.append(f"{self.latency_statistic.value} > {self.latency_ms_above:,.6g} ms")
        what = _(" or ").join(parts) or _("no alarm")
        if self.model is DetectionModelName.TRAILING:
            return _("{what} over a trailing {period} (evaluated every second)").format(
                what=what, period=fmt(self.period_s))
        return _(
            "{what}, {m} of {n} datapoint(s) of {period}, missing data {treat_missing}, metrics {delay} late, "
            "evaluated every {interval}"
        ).format(what=what, m=self.m, n=self.evaluation_periods, period=fmt(self.period_s),
                 treat_missing=self.treat_missing_data.value, delay=fmt(self.metric_delay_s),
                 interval=fmt(self.interval_s))
