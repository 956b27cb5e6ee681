"""Soak: a long constant load, judged for drift (latency, errors) and memory growth of the service.

The run after a warm-up is cut into equal windows; drift is the change from the first window to the
last (and the least-squares trend over all of them, per hour). Memory is the resident set (RSS) of
the bundled service's processes (its supervisor and every child, summed), sampled by psutil once a
second; growth is the change from the median of the first window to the median of the last, so a
single garbage-collection spike does not count. A change is flagged only if it is both relative
(`*_drift`) and absolute (`min_*`): 3 -> 4 ms is +33 % of nothing.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from loadtests.plan import LoadPlan
from loadtests.records import RssPoint, SecondSample
from verify.slo import Slo
from verify.windows import WindowStats, index_series, window_stats


class SoakConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    load: LoadPlan = Field(description="the constant load (its shape is forced to constant)")
    warmup_s: float | None = Field(None, ge=0, description="not judged; default a tenth of the run, at most 60 s")
    windows: int = Field(10, ge=2, le=1000, description="equal windows the judged run is cut into")
    slo: Slo = Field(default_factory=Slo)
    latency_drift: float = Field(0.10, ge=0, description="flag p90/p95 rising by more than this share...")
    min_latency_ms: float = Field(5.0, ge=0, description="...and by at least this much")
    error_drift: float = Field(0.01, ge=0, description="flag the error rate rising by more than this (absolute)")
    memory_growth: float = Field(0.10, ge=0, description="flag RSS growing by more than this share...")
    min_memory_mb: float = Field(10.0, ge=0, description="...and by at least this many MB")
    rss_interval_s: float = Field(1.0, gt=0)

    @property
    def warmup(self) -> float:
        if self.warmup_s is not None:
            return self.warmup_s
        return min(round(self.load.duration_s / 10), 60)


class SoakWindow(BaseModel):
    start_t: int
    end_t: int  # exclusive
    requests: int
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    rss_mb: float | None = None  # median over the window


class MemoryGrowth(BaseModel):
    first_mb: float  # median of the first window
    last_mb: float  # median of the last window
    peak_mb: float
    growth_mb: float
    growth_pct: float
    trend_mb_per_h: float
    points: list[RssPoint]


class SoakResult(BaseModel):
    run_id: str
    target: str
    started_at: float
    finished_at: float
    model: str
    rps: float | None
    users: int | None
    duration_s: float  # planned
    warmup_s: float
    seconds: int  # judged seconds measured
    overall: SoakWindow
    peak_users: int
    generator_saturated_seconds: int
    windows: list[SoakWindow]
    p90_drift_pct: float | None
    p95_drift_pct: float | None
    error_rate_drift: float  # last - first, absolute
    p95_trend_ms_per_h: float
    memory: MemoryGrowth | None = Field(None, description="None when the service's processes are not visible")
    slo: Slo = Field(default_factory=Slo)
    flags: list[str] = Field(default_factory=list)
    slo_violations: list[str] = Field(default_factory=list)

    @property
    def first(self) -> SoakWindow:
        return self.windows[0]

    @property
    def last(self) -> SoakWindow:
        return self.windows[-1]

    @property
    def drifted(self) -> bool:
        return bool(self.flags)


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (epoch seconds, value) points, per hour; 0 with fewer than two times."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    num = sum((x - mx) * (y - my) for x, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return num / den * 3600.0


def _change(first: float, last: float) -> float | None:
    return (last - first) / first if first > 0 else None


def analyze_soak(series: Sequence[SecondSample], start_t: int, end_t: int, rss: Sequence[RssPoint],
                 config: SoakConfig, *, run_id: str = "", target: str = "local", started_at: float = 0.0,
                 finished_at: float = 0.0) -> SoakResult:
    """Judge the seconds `[start_t + warmup, end_t)` of a soak run and the RSS points sampled during it."""
    by_t = index_series(series)
    judged_start = min(start_t + round(config.warmup), end_t)
    span = end_t - judged_start
    n = max(1, min(config.windows, span))
    bounds = [judged_start + (span * i) // n for i in range(n + 1)]

    def window(a: int, b: int) -> tuple[SoakWindow, WindowStats]:
        stats = window_stats(by_t, config.slo, a, b)
        inside = [p.rss_mb for p in rss if a <= p.t < b]
        return SoakWindow(start_t=a, end_t=b, requests=stats.requests, achieved_rps=stats.achieved_rps,
                          p50_ms=stats.p50_ms, p90_ms=stats.p90_ms, p95_ms=stats.p95_ms, p99_ms=stats.p99_ms,
                          error_rate=stats.error_rate, rss_mb=statistics.median(inside) if inside else None), stats

    windows = [window(bounds[i], bounds[i + 1])[0] for i in range(n)]
    overall, overall_stats = window(judged_start, end_t)
    # Judged on merged percentiles and errors; per-second availability is a monthly promise, not a soak's.
    slo = config.slo.model_copy(update={"availability": 0.0})
    first, last = windows[0], windows[-1]
    flags: list[str] = []
    drift: dict[str, float | None] = {}
    for label in ("p90", "p95"):
        a, b = getattr(first, f"{label}_ms"), getattr(last, f"{label}_ms")
        drift[label] = _change(a, b)
        if b > a * (1 + config.latency_drift) and b - a >= config.min_latency_ms:
            flags.append(f"{label} drifted {a:.0f} -> {b:.0f} ms (+{(b - a) / a:.0%})" if a else
                         f"{label} drifted {a:.0f} -> {b:.0f} ms")
    error_drift = last.error_rate - first.error_rate
    if error_drift > config.error_drift:
        flags.append(f"error rate drifted {first.error_rate:.2%} -> {last.error_rate:.2%}")
    memory = _memory(rss, first, last, judged_start, end_t)
    if memory is not None and memory.growth_mb >= config.min_memory_mb and memory.growth_pct > config.memory_growth:
        flags.append(f"service memory grew {memory.first_mb:.0f} -> {memory.last_mb:.0f} MB (+{memory.growth_pct:.0%})")
    judged = [by_t[t] for t in range(judged_start, end_t) if t in by_t]
    return SoakResult(
        run_id=run_id, target=target, started_at=started_at, finished_at=finished_at,
        model=config.load.model.value, rps=config.load.rps, users=config.load.users,
        duration_s=config.load.duration_s, warmup_s=judged_start - start_t, seconds=span, overall=overall,
        peak_users=max((s.users for s in series), default=0),
        generator_saturated_seconds=sum(s.generator.saturated for s in judged), windows=windows,
        p90_drift_pct=drift["p90"], p95_drift_pct=drift["p95"], error_rate_drift=error_drift,
        p95_trend_ms_per_h=slope_per_hour([((w.start_t + w.end_t) / 2, w.p95_ms) for w in windows if w.requests]),
        memory=memory, slo=config.slo, flags=flags, slo_violations=overall_stats.violations(slo),
    )


def _memory(rss: Sequence[RssPoint], first: SoakWindow, last: SoakWindow, start: int, end: int) -> MemoryGrowth | None:
    if first.rss_mb is None or last.rss_mb is None:
        return None
    points = [p for p in rss if start <= p.t < end]
    growth = last.rss_mb - first.rss_mb
    return MemoryGrowth(
        first_mb=first.rss_mb, last_mb=last.rss_mb, peak_mb=max(p.rss_mb for p in points), growth_mb=growth,
        growth_pct=growth / first.rss_mb if first.rss_mb else 0.0,
        trend_mb_per_h=slope_per_hour([(p.t, p.rss_mb) for p in points]), points=points,
    )
