"""The promises a drill is judged against: SLO targets and the alarm rule that counts as detection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Slo(BaseModel):
    """Defaults are the operations manual's: p90 < 200 ms, SLA p95 < 500 ms, errors < 1 %, 99.9 % available."""

    model_config = ConfigDict(extra="forbid")

    p90_ms: float = Field(200.0, gt=0)
    p95_ms: float = Field(500.0, gt=0)
    p99_ms: float | None = Field(None, gt=0, description="optional; not a manual target")
    error_rate: float = Field(0.01, ge=0, le=1, description="failed / all requests")
    availability: float = Field(0.999, ge=0, le=1, description="share of seconds in which the SLO held")
    min_rps: float | None = Field(None, ge=0, description="optional floor on achieved RPS")


class AlarmRule(BaseModel):
    """The manual's CloudWatch alarms: error rate > 5 % or latency > 1,000 ms, each over a 300 s period.

    `period_s` is scaled by the profile's `time_scale` like every other wait.
    """

    model_config = ConfigDict(extra="forbid")

    error_rate_above: float | None = Field(0.05, ge=0, le=1)
    latency_ms_above: float | None = Field(1000.0, gt=0, description="p90 over the period")
    period_s: float = Field(300.0, gt=0)
