"""Synthetic per-second series with known answers, for tests and the sample report.

Not used by drills: every figure a drill reports comes from measured samples.
Seconds are built with real HdrHistograms (values recorded, then encoded), the
same way the load runner builds them, so the checks read them like real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from loadtests.records import SecondSample, new_histogram
from verify.latency import sparse_counts, summarize


def build_second(
    t: int,
    requests: int,
    failed: int = 0,
    low_ms: float = 10.0,
    high_ms: float = 60.0,
    failure_kind: str = "http_502",
    target_rps: float | None = None,
) -> SecondSample:
    """One second whose `requests` latencies are spread evenly over [low_ms, high_ms]."""
    if failed > requests:
        raise ValueError("failed > requests")
    hist = new_histogram()
    for i in range(requests):
        frac = (i + 0.5) / requests
        hist.record_value(max(1, int((low_ms + (high_ms - low_ms) * frac) * 1000)))
    encoded = hist.encode() if requests else ""
    lat = summarize(sparse_counts(encoded))
    return SecondSample(
        t=t,
        requests=requests,
        failures={failure_kind: failed} if failed else {},
        histogram=encoded,
        p50_ms=lat.p50_ms,
        p90_ms=lat.p90_ms,
        p95_ms=lat.p95_ms,
        p99_ms=lat.p99_ms,
        max_ms=lat.max_ms,
        target_rps=target_rps,
    )


@dataclass(frozen=True)
class Segment:
    """Seconds `[start, end)` relative to the series start that behave differently from normal."""

    start: int
    end: int
    error_rate: float = 0.0
    low_ms: float = 10.0
    high_ms: float = 60.0
    rps_factor: float = 1.0
    failure_kind: str = "http_502"


@dataclass
class SeriesSpec:
    t0: int
    seconds: int
    rps: int = 100
    low_ms: float = 10.0
    high_ms: float = 60.0
    segments: list[Segment] = field(default_factory=list)
    jitter: float = 0.0  # +- share of rps and latency, seeded: realistic-looking pictures
    seed: int = 7
    missing: set[int] = field(default_factory=set)  # relative seconds with no sample at all


def build_series(spec: SeriesSpec) -> list[SecondSample]:
    rng = random.Random(spec.seed)
    out: list[SecondSample] = []
    for rel in range(spec.seconds):
        if rel in spec.missing:
            continue
        seg = next((s for s in spec.segments if s.start <= rel < s.end), None)
        factor = seg.rps_factor if seg else 1.0
        wobble = 1 + rng.uniform(-spec.jitter, spec.jitter)
        requests = max(0, round(spec.rps * factor * wobble))
        rate = seg.error_rate if seg else 0.0
        low = seg.low_ms if seg else spec.low_ms
        high = (seg.high_ms if seg else spec.high_ms) * (1 + rng.uniform(0, spec.jitter))
        kind = seg.failure_kind if seg else "http_502"
        out.append(build_second(spec.t0 + rel, requests, round(requests * rate), low, high, kind, spec.rps))
    return out
