import random

import pytest

from loadtests.records import new_histogram
from verify.latency import LatencyCounts, sparse_counts, summarize


def _hist(values_us):
    hist = new_histogram()
    for v in values_us:
        hist.record_value(v)
    return hist


def test_percentiles_equal_hdrh_on_the_merged_histogram():
    rng = random.Random(3)
    parts = [[rng.randint(500, 2_000_000) for _ in range(rng.randint(1, 400))] for _ in range(12)]
    merged = LatencyCounts()
    for part in parts:
        merged.add(sparse_counts(_hist(part).encode()))
    reference = _hist([v for part in parts for v in part])
    got = merged.summary()
    assert merged.total == reference.get_total_count()
    assert got.p50_ms == reference.get_value_at_percentile(50) / 1000
    assert got.p90_ms == reference.get_value_at_percentile(90) / 1000
    assert got.p95_ms == reference.get_value_at_percentile(95) / 1000
    assert got.p99_ms == reference.get_value_at_percentile(99) / 1000
    assert got.max_ms == reference.get_max_value() / 1000


def test_subtracting_a_second_restores_the_rest():
    fast = sparse_counts(_hist([10_000] * 100).encode())
    slow = sparse_counts(_hist([900_000] * 100).encode())
    window = LatencyCounts()
    window.add(fast)
    window.add(slow)
    assert window.summary().p90_ms == pytest.approx(900, rel=0.001)
    window.subtract(slow)
    assert window.total == 100
    assert window.summary().p99_ms == pytest.approx(10, rel=0.001)
    with pytest.raises(ValueError):
        window.subtract(slow)


def test_empty_histogram_reads_as_zero():
    assert summarize(sparse_counts("")).p95_ms == 0.0
    assert LatencyCounts().summary().max_ms == 0.0
