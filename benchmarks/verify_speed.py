"""How fast the checks judge a long drill: a 2-hour series (the region-outage RTO) at full profile.

    python benchmarks/verify_speed.py [--seconds 7200] [--rps 200]

Prints the cost of evaluate() on the whole journal, the live detection models' cost per
second fed (trailing 300 s window; CloudWatch's 300 s periods), and the merged-window percentile query against
hdrh's own pure-Python query, as ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time

from loadtests.records import decode_histogram, new_histogram
from verify.alarm import CloudWatchAlarmModel
from verify.checks import evaluate
from verify.detector import Detector
from verify.journal import Journal
from verify.latency import LatencyCounts, sparse_counts
from verify.slo import AlarmRule
from verify.synthetic import Segment, SeriesSpec, build_series


def _timed(fn, repeat: int = 1) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=7200)
    parser.add_argument("--rps", type=int, default=200, help="requests recorded per synthetic second")
    args = parser.parse_args()
    t0 = 1_700_000_000
    started = time.perf_counter()
    series = build_series(SeriesSpec(t0, args.seconds, rps=args.rps, jitter=0.1,
                                     segments=[Segment(600, 1500, error_rate=1.0)]))
    print(f"built {len(series):,} seconds x {args.rps} requests in {time.perf_counter() - started:,.1f} s")
    sparse_counts.cache_clear()
    journal = Journal(run_id="bench", scenario="region-outage", profile="full", target="local", started_at=t0,
                      fault_at=t0 + 600.0, rto_s=7200.0, sustained_s=60.0, series=series,
                      alarm=AlarmRule(period_s=300))
    cold = _timed(lambda: evaluate(journal))
    warm = _timed(lambda: evaluate(journal))
    print(f"evaluate() on {len(series):,} s: {cold:,.2f} s cold (histograms decoded), {warm:,.2f} s warm")

    detector = Detector(AlarmRule(period_s=300), fault_at=float(t0 + args.seconds + 10))  # never fires: full cost
    per_second = _timed(lambda: [detector.observe(s) for s in series]) / len(series)
    print(f"Detector.observe: {per_second * 1e6:,.0f} us per second fed (300 s trailing period)")
    alarm = CloudWatchAlarmModel(AlarmRule(), fault_at=float(t0 + args.seconds + 10))  # never fires: full cost
    per_second = _timed(lambda: [alarm.observe(s) for s in series]) / len(series)
    print(f"CloudWatchAlarmModel.observe: {per_second * 1e6:,.0f} us per second fed (the manual's 300 s alarm)")

    window = series[:3600] if len(series) >= 3600 else series
    def ours() -> float:
        counts = LatencyCounts()
        for s in window:
            counts.add(sparse_counts(s.histogram))
        return counts.summary().p95_ms

    def hdrh_only() -> float:
        merged = new_histogram()
        for s in window:
            merged.add(decode_histogram(s.histogram))
        return merged.get_value_at_percentile(95) / 1000

    a, b = ours(), hdrh_only()
    assert a == b, (a, b)
    t_ours, t_hdrh = _timed(ours, 3), _timed(hdrh_only, 1)
    print(f"p95 of a {len(window):,} s window: {t_ours * 1000:,.0f} ms (numpy buckets) vs {t_hdrh * 1000:,.0f} ms "
          f"(hdrh merge + query): {t_hdrh / t_ours:,.1f}x, same value {a:,.1f} ms")
    trailing = [s.histogram for s in series[:300]]
    def naive_step() -> float:
        merged = new_histogram()
        for enc in trailing:
            merged.add(decode_histogram(enc))
        return merged.get_value_at_percentile(90)
    t_naive = _timed(naive_step, 2)
    print(f"a naive detector (re-merge 300 s with hdrh each second): {t_naive * 1e3:,.0f} ms per second fed, "
          f"{t_naive / per_second:,.0f}x the sliding one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
