"""Judging a capacity search: each step against the SLO, why it broke, and the knee.

A step is judged over its own seconds minus a settle period at its start (the backlog and connection
churn of the previous rate), from merged histograms (`verify.windows.window_stats`). A step that broke
while the generator itself was saturated is reported as `generator_saturation`: that is the limit of
this machine's load, not the target's. The search itself is `scenarios.capacity`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from loadtests.records import SecondSample
from verify.slo import Slo
from verify.windows import index_series, window_stats

# A step is generator-saturated when at least this share of its judged seconds were.
SATURATED_SHARE = 0.2
# A step that delivered less than this share of its rate did not really offer that rate.
MIN_DELIVERY = 0.9


class SearchMode(StrEnum):
    LINEAR = "linear"
    BISECT = "bisect"


class BreakReason(StrEnum):
    LATENCY = "latency"
    ERRORS = "errors"
    GENERATOR_SATURATION = "generator_saturation"


class StepResult(BaseModel):
    """One rate, held and judged. Latencies from the step's merged histogram (settle excluded)."""

    rate_rps: float
    start_t: int  # first judged second (epoch)
    end_t: int  # exclusive
    seconds: int
    requests: int
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_rate: float
    failures: dict[str, int] = Field(default_factory=dict)
    saturated_seconds: int = 0
    generator_max_cpu_percent: float = 0.0
    generator_max_loop_lag_ms: float = 0.0
    met: bool
    broke_because: BreakReason | None = None
    reasons: list[str] = Field(default_factory=list)


def judge_step(series: Sequence[SecondSample] | dict[int, SecondSample], rate_rps: float, start_t: int, end_t: int,
               slo: Slo) -> StepResult:
    """Judge `[start_t, end_t)` (settle already excluded) as a step at `rate_rps`."""
    by_t = series if isinstance(series, dict) else index_series(series)
    stats = window_stats(by_t, slo, start_t, end_t)
    present = [by_t[t] for t in range(start_t, end_t) if t in by_t]
    saturated = sum(s.generator.saturated for s in present)
    reasons: list[str] = []
    errors = False
    if stats.requests == 0:
        reasons.append("no traffic")
    else:
        for label, value, limit in (("p90", stats.p90_ms, slo.p90_ms), ("p95", stats.p95_ms, slo.p95_ms),
                                    ("p99", stats.p99_ms, slo.p99_ms)):
            if limit is not None and value > limit:
                reasons.append(f"{label} {value:.0f} ms > {limit:.0f} ms")
        if stats.error_rate > slo.error_rate:
            reasons.append(f"error rate {stats.error_rate:.2%} > {slo.error_rate:.2%}")
            errors = True
        if stats.achieved_rps < MIN_DELIVERY * rate_rps:
            # Open model: the intended sends of each second are counted there, so a shortfall means
            # requests that never completed inside the run (a stalled target or generator).
            reasons.append(f"delivered {stats.achieved_rps:.0f} of {rate_rps:g} RPS")
    because: BreakReason | None = None
    if reasons:
        if stats.seconds and saturated >= SATURATED_SHARE * stats.seconds:
            because = BreakReason.GENERATOR_SATURATION
            reasons.insert(0, f"load generator saturated in {saturated} of {stats.seconds} s")
        elif errors:
            because = BreakReason.ERRORS
        else:  # p90/p95/p99, no traffic, or a shortfall of answered requests
            because = BreakReason.LATENCY
    return StepResult(
        rate_rps=rate_rps, start_t=start_t, end_t=end_t, seconds=stats.seconds, requests=stats.requests,
        achieved_rps=stats.achieved_rps, p50_ms=stats.p50_ms, p90_ms=stats.p90_ms, p95_ms=stats.p95_ms,
        p99_ms=stats.p99_ms, max_ms=stats.max_ms, error_rate=stats.error_rate, failures=stats.failures,
        saturated_seconds=saturated,
        generator_max_cpu_percent=max((s.generator.cpu_percent for s in present), default=0.0),
        generator_max_loop_lag_ms=max((s.generator.loop_lag_ms for s in present), default=0.0),
        met=not reasons, broke_because=because, reasons=reasons,
    )


class CapacityResult(BaseModel):
    """What `--json` writes: the knee, where and why it broke, and every step in the order it ran."""

    run_id: str
    target: str
    started_at: float  # epoch seconds
    finished_at: float
    mode: SearchMode
    max_rps: float
    step_rps: float
    hold_s: float
    settle_s: float
    slo: Slo
    knee_rps: float | None = Field(description="highest rate whose step met the SLO (None: not even the first)")
    broke_at_rps: float | None = Field(description="lowest rate whose step broke it (None: held up to max-rps)")
    broke_because: BreakReason | None
    broke_reasons: list[str] = Field(default_factory=list)
    steps: list[StepResult]

    @property
    def knee_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.met and s.rate_rps == self.knee_rps), None)

    @property
    def limited_by_generator(self) -> bool:
        return self.broke_because is BreakReason.GENERATOR_SATURATION


def knee_of(steps: Sequence[StepResult]) -> tuple[float | None, StepResult | None]:
    """The knee (highest met rate below the lowest broken one) and the lowest broken step."""
    broken = min((s for s in steps if not s.met), key=lambda s: s.rate_rps, default=None)
    ceiling = broken.rate_rps if broken is not None else math.inf
    knee = max((s.rate_rps for s in steps if s.met and s.rate_rps < ceiling), default=None)
    return knee, broken
