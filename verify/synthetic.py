"""Synthetic per-second series with known answers, for tests and the sample report.

Not used by drills: every figure a drill reports comes from measured samples (`plan` runs
the alarm model on them to show its earliest and latest detection before a drill).
Seconds are built with real HdrHistograms (values recorded, then encoded), the
same way the load runner builds them, so the checks read them like real data.
"""

from __future__ import annotations

import math
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


def pattern_series(t0: int, period_s: int, pattern: str, rps: int = 20, bad_error_rate: float = 1.0) -> list[SecondSample]:
    """Per-second samples whose clock-aligned periods follow `pattern`, in the notation of CloudWatch's
    missing-data tables (oldest first, spaces ignored): `0` a healthy period, `X` a period whose requests
    fail at `bad_error_rate`, `-` a period without requests (seconds of zero traffic: a missing datapoint).
    `t0` must be a multiple of `period_s`, so that each character is exactly one alarm period."""
    if t0 % period_s:
        raise ValueError(f"t0 {t0} is not aligned to the period ({period_s} s)")
    healthy = build_second(0, rps)
    bad = build_second(0, rps, round(rps * bad_error_rate))
    out: list[SecondSample] = []
    for i, mark in enumerate(pattern.replace(" ", "")):
        start = t0 + i * period_s
        for t in range(start, start + period_s):
            if mark == "-":
                out.append(SecondSample(t=t))
            elif mark in "0X":
                out.append((bad if mark == "X" else healthy).model_copy(update={"t": t}))
            else:
                raise ValueError(f"unknown mark {mark!r} in {pattern!r} (use 0, X or -)")
    return out


def fault_series(
    t0: int, seconds: int, fault_at: float, *, rps: int = 100, error_rate: float = 1.0, latencies: bool = True,
    until: float | None = None,
) -> list[SecondSample]:
    """`seconds` seconds from `t0`: healthy, then failing at `error_rate` from `fault_at` (until `until`).

    The second the fault lands in fails for its share after the fault. Seconds are copies of three built
    ones, so hours of series are cheap; `latencies=False` leaves the histograms out (error-rate alarms only).
    """
    def second(failed: int) -> SecondSample:
        if latencies:
            return build_second(0, rps, failed)
        return SecondSample(t=0, requests=rps, failures={"http_502": failed} if failed else {}, target_rps=rps)

    healthy, bad = second(0), second(round(rps * error_rate))
    end = math.inf if until is None else until
    out: list[SecondSample] = []
    for t in range(t0, t0 + seconds):
        share = max(0.0, min(t + 1, end) - max(t, fault_at))  # how much of this second the fault covered
        if share >= 1:
            out.append(bad.model_copy(update={"t": t}))
        elif share > 0:
            out.append(second(round(rps * error_rate * share)).model_copy(update={"t": t}))
        else:
            out.append(healthy.model_copy(update={"t": t}))
    return out
