"""Percentiles read from (merged) histograms are within 1 % of the exact values of the sample."""

from __future__ import annotations

import math
import random

from loadtests.merger import SecondMerger, sample_from
from loadtests.partial import SecondPartial
from loadtests.summary import SummaryBuilder


def exact(values: list[int], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)) - 1, 0)]


def latencies(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    # A long-tailed mix like real latencies: most a few ms, some hundreds, a few seconds (microseconds).
    return [int(rng.lognormvariate(8.5, 1.2)) + 1 for _ in range(n)]


def test_one_second_percentiles_match_a_sorted_list() -> None:
    values = latencies(20_000, seed=1)
    part = SecondPartial(t=1)
    for v in values:
        part.record(v, None)
    sample = sample_from(part, None)
    for pct, got in ((50, sample.p50_ms), (90, sample.p90_ms), (95, sample.p95_ms), (99, sample.p99_ms)):
        want = exact(values, pct) / 1000
        assert abs(got - want) <= 0.01 * want, (pct, got, want)
    assert abs(sample.max_ms - max(values) / 1000) <= 0.01 * max(values) / 1000


def test_merged_across_workers_and_seconds_not_averaged() -> None:
    # Two workers with very different latencies: averaging their p90s would be far off the truth.
    fast, slow = latencies(5_000, seed=2), [v * 20 for v in latencies(1_000, seed=3)]
    merger = SecondMerger(lambda t: None)
    for worker, values in (("a", fast), ("b", slow)):
        part = SecondPartial(t=7)
        for v in values:
            part.record(v, None)
        merger.add(worker, SecondPartial.from_message(part.to_message()))
    (sample,) = merger.ready({"a", "b"})
    both = fast + slow
    want = exact(both, 90) / 1000
    assert abs(sample.p90_ms - want) <= 0.01 * want
    builder = SummaryBuilder(None, None)
    builder.add(sample)
    summary = builder.build()
    assert abs(summary.p99_ms - exact(both, 99) / 1000) <= 0.01 * exact(both, 99) / 1000
    assert summary.requests == 6_000
