"""SLO over a span of seconds: merged counts and histograms, and which seconds were healthy.

A span is half-open in epoch seconds, `[start_t, end_t)`, one `SecondSample`
per second. A second missing from the series while the span says load was
running is a zero-traffic second: a dead target serves nothing, so it is not
healthy (and it lowers achieved RPS).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.latency import Latencies, LatencyCounts, SparseCounts, encoded_latencies, sparse_counts
from verify.slo import Slo


@dataclass(frozen=True)
class SecondHealth:
    """Whether the SLO held in one second, and if not, why (for reports and verdict details)."""

    t: int
    requests: int
    failed: int
    latencies: Latencies
    healthy: bool
    reasons: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


def sample_counts(sample: SecondSample) -> SparseCounts:
    return sparse_counts(sample.histogram)


def sample_latencies(sample: SecondSample) -> Latencies:
    """From the second's histogram; the producer's own figures only if it sent no histogram."""
    if sample.histogram:
        return encoded_latencies(sample.histogram)
    return Latencies(sample.p50_ms, sample.p90_ms, sample.p95_ms, sample.p99_ms, sample.max_ms)


def second_health(sample: SecondSample, slo: Slo) -> SecondHealth:
    """A healthy second has traffic and meets every per-second SLO target (p90, p95, p99, error rate)."""
    lat = sample_latencies(sample)
    reasons: list[str] = []
    if sample.requests == 0:
        reasons.append(_("no traffic"))
    else:
        if sample.error_rate > slo.error_rate:
            reasons.append(_("error rate {rate:.1%} > {limit:.1%}").format(
                rate=sample.error_rate, limit=slo.error_rate))
        if lat.p90_ms > slo.p90_ms:
            reasons.append(f"p90 {lat.p90_ms:.0f} ms > {slo.p90_ms:.0f} ms")
        if lat.p95_ms > slo.p95_ms:
            reasons.append(f"p95 {lat.p95_ms:.0f} ms > {slo.p95_ms:.0f} ms")
        if slo.p99_ms is not None and lat.p99_ms > slo.p99_ms:
            reasons.append(f"p99 {lat.p99_ms:.0f} ms > {slo.p99_ms:.0f} ms")
    return SecondHealth(sample.t, sample.requests, sample.failed, lat, not reasons, tuple(reasons))


def with_gaps(last_t: int | None, sample: SecondSample) -> Iterator[SecondSample]:
    """The seconds since `last_t` up to `sample`: a missing second is one with zero traffic."""
    if last_t is not None and sample.t <= last_t:
        raise ValueError(f"samples must come in time order: {sample.t} after {last_t}")
    if last_t is not None:
        for t in range(last_t + 1, sample.t):
            yield SecondSample(t=t)
    yield sample


def index_series(series: Sequence[SecondSample]) -> dict[int, SecondSample]:
    by_t: dict[int, SecondSample] = {}
    for sample in series:
        if sample.t in by_t:
            raise ValueError(f"the series has two samples for second {sample.t}")
        by_t[sample.t] = sample
    return by_t


def seconds_in(by_t: dict[int, SecondSample], start_t: int, end_t: int) -> Iterator[SecondSample]:
    """Every second of `[start_t, end_t)`, an empty sample where the series has none."""
    for t in range(start_t, end_t):
        yield by_t.get(t) or SecondSample(t=t)


class WindowStats(BaseModel):
    """One window of a drill (baseline, during the fault, after recovery) judged against the SLO."""

    name: str = ""
    start_t: int = 0
    end_t: int = 0  # exclusive
    seconds: int = 0
    requests: int = 0
    failed: int = 0
    failures: dict[str, int] = Field(default_factory=dict)
    error_rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    achieved_rps: float = 0.0
    healthy_seconds: int = 0
    zero_traffic_seconds: int = 0
    saturated_seconds: int = 0  # seconds in which the load generator itself was saturated
    availability: float = 0.0  # share of seconds in which the SLO held

    @property
    def empty(self) -> bool:
        return self.seconds == 0

    def violations(self, slo: Slo, *, availability: bool = True) -> list[str]:
        """The window-level promises this window broke (empty list: the SLO held).

        `availability=False` judges the window's merged percentiles and error rate only: a
        monthly 99.9 % cannot be asked of a one-minute window, where one slow second is 98.3 %.
        The whole drill's availability is its own check.
        """
        if self.empty:
            return [_("empty window: no seconds to judge")]
        if self.requests == 0:
            return [_("no traffic at all")]
        broken: list[str] = []
        checks = [
            ("p90", self.p90_ms, slo.p90_ms, "ms"),
            ("p95", self.p95_ms, slo.p95_ms, "ms"),
            ("p99", self.p99_ms, slo.p99_ms, "ms"),
        ]
        for label, value, limit, unit in checks:
            if limit is not None and value > limit:
                broken.append(f"{label} {value:.0f} {unit} > {limit:.0f} {unit}")
        if self.error_rate > slo.error_rate:
            broken.append(_("error rate {rate:.2%} > {limit:.2%}").format(rate=self.error_rate, limit=slo.error_rate))
        if availability and self.availability < slo.availability:
            broken.append(_("availability {value:.2%} < {limit:.2%}").format(
                value=self.availability, limit=slo.availability))
        if slo.min_rps is not None and self.achieved_rps < slo.min_rps:
            broken.append(_("achieved {value:.0f} RPS < {limit:.0f} RPS").format(
                value=self.achieved_rps, limit=slo.min_rps))
        return broken


def window_stats(
    series: Sequence[SecondSample] | dict[int, SecondSample],
    slo: Slo,
    start_t: int,
    end_t: int,
    name: str = "",
) -> WindowStats:
    """Merge the seconds of `[start_t, end_t)`: counts summed, histograms summed, then percentiles."""
    by_t = series if isinstance(series, dict) else index_series(series)
    merged = LatencyCounts()
    failures: dict[str, int] = {}
    requests = failed = healthy = zero = saturated = 0
    for sample in seconds_in(by_t, start_t, max(start_t, end_t)):
        requests += sample.requests
        failed += sample.failed
        for kind, n in sample.failures.items():
            failures[kind] = failures.get(kind, 0) + n
        merged.add(sample_counts(sample))
        zero += sample.requests == 0
        saturated += sample.generator.saturated
        healthy += second_health(sample, slo).healthy
    seconds = max(0, end_t - start_t)
    lat = merged.summary()
    return WindowStats(
        name=name,
        start_t=start_t,
        end_t=max(start_t, end_t),
        seconds=seconds,
        requests=requests,
        failed=failed,
        failures=failures,
        error_rate=failed / requests if requests else 0.0,
        p50_ms=lat.p50_ms,
        p90_ms=lat.p90_ms,
        p95_ms=lat.p95_ms,
        p99_ms=lat.p99_ms,
        max_ms=lat.max_ms,
        achieved_rps=requests / seconds if seconds else 0.0,
        healthy_seconds=healthy,
        zero_traffic_seconds=zero,
        saturated_seconds=saturated,
        availability=healthy / seconds if seconds else 0.0,
    )
