"""Latency counts merged across seconds: exact percentiles from HdrHistogram buckets.

Percentiles of a span of seconds come from the sum of the per-second bucket
counts, never from an average of per-second percentiles. hdrh's own percentile
query walks 18,432 buckets in Python (about 2 ms each); a drill needs one per
second per tracker, so the counts live in numpy arrays and a query is a
cumulative sum plus a binary search. The answers equal hdrh's
`get_value_at_percentile` (same bucket, same highest-equivalent value).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from loadtests.records import decode_histogram, new_histogram


@dataclass(frozen=True)
class SparseCounts:
    """The non-zero buckets of one encoded histogram (a second holds at most a few thousand)."""

    index: np.ndarray  # bucket indexes, ascending, unique
    count: np.ndarray  # int64 counts for those buckets

    @property
    def total(self) -> int:
        return int(self.count.sum())


@dataclass(frozen=True)
class Latencies:
    """Percentiles in milliseconds; all zero when nothing was recorded."""

    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


_EMPTY = SparseCounts(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


@lru_cache(maxsize=1)
def _bucket_values_us() -> np.ndarray:
    """Highest equivalent value (us) of every bucket: what hdrh reports for a percentile landing there."""
    hist = new_histogram()
    return np.array(
        [hist.get_highest_equivalent_value(hist.get_value_from_index(i)) for i in range(hist.counts_len)],
        dtype=np.float64,
    )


def bucket_count() -> int:
    return len(_bucket_values_us())


@lru_cache(maxsize=16384)
def sparse_counts(encoded: str) -> SparseCounts:
    """Decode `SecondSample.histogram` once (cached: windows and trackers read the same seconds)."""
    if not encoded:
        return _EMPTY
    dense = np.ctypeslib.as_array(decode_histogram(encoded).counts)
    index = np.flatnonzero(dense)
    counts = dense[index].astype(np.int64)
    index.setflags(write=False)
    counts.setflags(write=False)
    return SparseCounts(index, counts)


_PERCENTILES = np.array([50.0, 90.0, 95.0, 99.0])


def _summarize(cumulative: np.ndarray, index: np.ndarray | None, max_bucket: int) -> Latencies:
    if len(cumulative) == 0 or cumulative[-1] == 0:
        return Latencies()
    total = int(cumulative[-1])
    # hdrh's rounding of the target count, int(p * total / 100 + 0.5) and at least 1, for all four at once
    targets = np.maximum((_PERCENTILES * total / 100 + 0.5).astype(np.int64), 1)
    pos = np.searchsorted(cumulative, targets, side="left")
    buckets = pos if index is None else index[pos]
    p50, p90, p95, p99 = (_bucket_values_us()[buckets] / 1000.0).tolist()
    return Latencies(p50, p90, p95, p99, max_ms=float(_bucket_values_us()[max_bucket]) / 1000.0)


def summarize(counts: SparseCounts) -> Latencies:
    """Percentiles of one second (or any single histogram)."""
    if counts.total == 0:
        return Latencies()
    return _summarize(np.cumsum(counts.count), counts.index, int(counts.index[-1]))


@lru_cache(maxsize=16384)
def encoded_latencies(encoded: str) -> Latencies:
    """Percentiles of one encoded histogram, cached: reports and checks ask for each second several times."""
    return summarize(sparse_counts(encoded))


class LatencyCounts:
    """A mergeable (and, for sliding windows, subtractable) set of bucket counts."""

    def __init__(self) -> None:
        self._dense = np.zeros(bucket_count(), dtype=np.int64)
        self._total = 0

    @property
    def total(self) -> int:
        return self._total

    def add(self, counts: SparseCounts) -> None:
        self._dense[counts.index] += counts.count
        self._total += counts.total

    def subtract(self, counts: SparseCounts) -> None:
        """Remove a second added earlier (sliding windows); removing what was never added is a bug."""
        self._dense[counts.index] -= counts.count
        self._total -= counts.total
        if self._total < 0 or (len(counts.index) and self._dense[counts.index].min() < 0):
            raise ValueError("subtracted latency counts that were never added")

    def mean_ms(self) -> float:
        """The average latency (each value read as its bucket's highest equivalent value, as percentiles are)."""
        if self._total == 0:
            return 0.0
        return float(np.dot(self._dense, _bucket_values_us())) / self._total / 1000.0

    def summary(self) -> Latencies:
        if self._total == 0:
            return Latencies()
        nonzero = np.flatnonzero(self._dense)
        return _summarize(np.cumsum(self._dense), None, int(nonzero[-1]))
