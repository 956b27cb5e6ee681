"""Soak judgement on synthetic series with known drift, and the RSS sampler on real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import psutil

from loadtests.plan import LoadPlan
from loadtests.records import RssPoint, SecondSample
from loadtests.rss_sampler import RssSampler
from verify.soak import SoakConfig, analyze_soak, slope_per_hour
from verify.synthetic import build_second

T0 = 10_000


def config(**fields: object) -> SoakConfig:
    return SoakConfig(load=LoadPlan(rps=50, duration_s=100), warmup_s=10, windows=5, **fields)  # type: ignore[arg-type]


def series(seconds: int, high_ms: Callable[[int], float] | None = None) -> list[SecondSample]:
    return [build_second(T0 + i, 50, 0, 5, high_ms(i) if high_ms else 40) for i in range(seconds)]


def flat_rss(mb: float, seconds: int = 100) -> list[RssPoint]:
    return [RssPoint(t=T0 + i + 0.5, rss_mb=mb, processes=3) for i in range(seconds)]


def test_a_steady_run_has_no_drift() -> None:
    result = analyze_soak(series(100), T0, T0 + 100, flat_rss(120.0), config())
    assert result.flags == [] and not result.drifted and result.slo_violations == []
    assert result.warmup_s == 10 and result.seconds == 90 and len(result.windows) == 5
    assert result.first.start_t == T0 + 10 and result.last.end_t == T0 + 100
    assert result.overall.requests == 90 * 50 and result.overall.achieved_rps == 50
    assert abs(result.p95_drift_pct or 0) < 0.02 and result.memory is not None and result.memory.growth_mb == 0


def test_rising_latency_is_flagged_with_its_trend() -> None:
    # The latency spread widens from 40 ms to 436 ms over the run.
    result = analyze_soak(series(100, lambda i: 40 + 4 * i), T0, T0 + 100, flat_rss(120.0), config())
    assert any(f.startswith("p90 drifted") for f in result.flags)
    assert any(f.startswith("p95 drifted") for f in result.flags)
    assert result.p95_drift_pct is not None and result.p95_drift_pct > 1.0
    assert result.p95_trend_ms_per_h > 0
    assert result.slo_violations  # the merged p90 over the whole run is past 200 ms


def test_a_small_absolute_change_is_not_drift() -> None:
    # 40 -> 44 ms is +10 %, but under the 5 ms floor.
    result = analyze_soak(series(100, lambda i: 40 + 0.05 * i), T0, T0 + 100, flat_rss(120.0), config())
    assert result.flags == []


def test_errors_appearing_late_are_flagged() -> None:
    samples = [build_second(T0 + i, 50, 5 if i >= 80 else 0, 5, 40) for i in range(100)]
    result = analyze_soak(samples, T0, T0 + 100, flat_rss(120.0), config())
    assert result.error_rate_drift > 0.09
    assert any(f.startswith("error rate drifted") for f in result.flags)


def test_memory_growth_is_measured_between_window_medians() -> None:
    rss = [RssPoint(t=T0 + i + 0.5, rss_mb=100 + i * 0.5, processes=3) for i in range(100)]
    rss[50] = RssPoint(t=T0 + 50.5, rss_mb=900, processes=3)  # one spike: peak, not growth
    result = analyze_soak(series(100), T0, T0 + 100, rss, config())
    memory = result.memory
    assert memory is not None and memory.peak_mb == 900
    assert 35 <= memory.growth_mb <= 37 and memory.growth_pct > 0.3
    assert 1500 <= memory.trend_mb_per_h <= 2100  # 0.5 MB/s
    assert any(f.startswith("service memory grew") for f in result.flags)
    assert analyze_soak(series(100), T0, T0 + 100, [], config()).memory is None  # no process visible


def test_slope_per_hour() -> None:
    assert slope_per_hour([(0, 0), (3600, 10)]) == 10
    assert slope_per_hour([(5, 3)]) == 0


def test_rss_sampler_sums_a_process_and_its_children() -> None:
    code = "import subprocess,sys,time; c=subprocess.Popen([sys.executable,'-c','import time; x=bytearray(40<<20); time.sleep(30)']); time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        sampler = RssSampler(parent.pid, interval_s=0.1)
        deadline = time.monotonic() + 20
        point = sampler.sample()
        while (point is None or point.processes < 2 or point.rss_mb < 40) and time.monotonic() < deadline:
            time.sleep(0.1)
            point = sampler.sample()
        assert point is not None and point.processes == 2 and point.rss_mb > 40
        sampler.start()
        time.sleep(0.5)
        points = sampler.stop()
        assert len(points) >= 2 and all(p.processes == 2 for p in points)
    finally:
        for proc in psutil.Process(parent.pid).children(recursive=True):
            proc.kill()
        parent.kill()
        parent.wait(5)
    assert RssSampler(parent.pid).sample() is None  # gone: no point, no crash
