"""The quarterly report: capacity charts (RPS vs p90/p95/error rate), comparison, soak, seed targets."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.plan import LoadPlan
from loadtests.records import RssPoint
from verify.browser import HeadlessChromium, find_chromium
from verify.capacity import BreakReason, CapacityResult, SearchMode, judge_step, knee_of
from verify.capacity_history import CapacityHistory
from verify.capacity_report import (
    QuarterlyReport,
    SeedTargets,
    render_console,
    render_html,
    seed_checks,
    write_html,
)
from verify.slo import Slo
from verify.soak import SoakConfig, SoakResult, analyze_soak
from verify.synthetic import build_second


def capacity(run_id: str, limit_rps: int, started: float) -> CapacityResult:
    """Steps of 100 RPS judged from synthetic seconds: fast up to `limit_rps`, slow and failing above."""
    slo, steps, t = Slo(), [], 1000
    for rate in range(100, limit_rps + 101, 100):
        bad = rate > limit_rps
        seconds = [build_second(t + i, rate // 10, 2 if bad else 0, 300 if bad else 5, 900 if bad else 20 + rate / 50)
                   for i in range(3)]
        steps.append(judge_step(seconds, rate / 10, t, t + 3, slo).model_copy(update={"rate_rps": float(rate)}))
        t += 3
    knee, broken = knee_of(steps)
    return CapacityResult(run_id=run_id, target="local", started_at=started, finished_at=started + 30,
                          mode=SearchMode.LINEAR, max_rps=2000, step_rps=100, hold_s=3, settle_s=0, slo=slo,
                          knee_rps=knee, broke_at_rps=broken.rate_rps if broken else None,
                          broke_because=broken.broke_because if broken else None,
                          broke_reasons=broken.reasons if broken else [], steps=steps)


def soak(users: int | None = 10_000) -> SoakResult:
    seconds = [build_second(5000 + i, 100, 0, 5, 40 + i) for i in range(60)]
    rss = [RssPoint(t=5000 + i + 0.5, rss_mb=200 + i, processes=3) for i in range(60)]
    plan = LoadPlan(model="closed", users=users, think_time_s=10, duration_s=60) if users else LoadPlan(rps=100, duration_s=60)
    series = [s.model_copy(update={"users": users or 0}) for s in seconds]
    return analyze_soak(series, 5000, 5060, rss, SoakConfig(load=plan, warmup_s=0, windows=6), target="local")


@pytest.fixture
def report(tmp_path: Path) -> QuarterlyReport:
    history = CapacityHistory(tmp_path / "capacity.jsonl")
    history.append(capacity("q1", 700, 1.70e9))
    current = capacity("q2", 500, 1.71e9)
    comparison = history.compare(current)
    s = soak()
    return QuarterlyReport(target="local", profile="quarterly", capacity=current, comparison=comparison, soak=s,
                           seed=seed_checks(current, s, SeedTargets()))


def test_seed_checks_judge_each_target_from_the_run_that_measured_it() -> None:
    checks = {c.name: c for c in seed_checks(capacity("a", 1200, 0), soak(), SeedTargets())}
    assert checks["throughput within the SLO"].passed and checks["throughput within the SLO"].measured == "1,200 RPS"
    assert not checks["sustained throughput"].passed  # the soak ran 100 RPS
    assert checks["concurrent users"].passed and checks["concurrent users"].measured == "10,000"
    assert checks["p90 under sustained load"].passed
    open_model = {c.name: c for c in seed_checks(None, soak(users=None), SeedTargets())}
    assert not open_model["concurrent users"].passed and "open model" in open_model["concurrent users"].measured
    assert "throughput within the SLO" not in open_model


def test_html_has_the_rps_vs_latency_and_error_charts_with_knee_and_break(report: QuarterlyReport) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    for css in ("chart-capacity-latency", "chart-capacity-errors", "chart-capacity-rps", "chart-soak-latency",
                "chart-soak-errors", "chart-soak-rss"):
        assert f'class="chart {css}"' in page
    latency_svg = page.split('class="chart chart-capacity-latency"')[1].split("</svg>")[0]
    assert 'data-series="p90"' in latency_svg and 'data-series="p95"' in latency_svg
    assert "offered rate (RPS)" in latency_svg and "SLO p90 200 ms" in latency_svg
    # One point per step on the p90 line: 100 .. 600 RPS.
    p90 = re.search(r'data-series="p90" points="([^"]+)"', latency_svg)
    assert p90 is not None and len(p90.group(1).split()) == 6
    assert "knee 500" in page and "broke 600<" in page and "broke at 600 RPS: errors" in page
    assert "REGRESSION: knee 500 RPS vs 700 RPS in run q1" in page and "(-29%)" in page
    assert "ATTENTION" in page and "seed target missed: throughput within the SLO" in page


def test_console_prints_steps_knee_comparison_soak_and_seed(report: QuarterlyReport) -> None:
    buf = io.StringIO()
    render_console(report, Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "knee 500 RPS" in out and "broke at 600 RPS because of errors" in out
    assert "REGRESSION: knee 500 RPS vs 700 RPS" in out
    assert "DRIFT p90 drifted" in out and "memory 204 -> 254 MB" in out and "DRIFT service memory grew" in out
    assert "concurrent users" in out and "missed" in out


def test_report_round_trips_as_json(report: QuarterlyReport) -> None:
    again = QuarterlyReport.model_validate_json(report.model_dump_json())
    assert again.capacity is not None and again.capacity.broke_because is BreakReason.ERRORS
    assert again.problems == report.problems


@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
def test_the_browser_renders_the_capacity_charts(report: QuarterlyReport, tmp_path: Path) -> None:
    page = write_html(report, tmp_path / "quarterly.html")
    dom = HeadlessChromium(timeout_s=60).dump_dom(page).stdout
    assert dom.count("<svg") == 6 and "chart-capacity-latency" in dom and "knee 500" in dom


def test_a_soak_with_a_saturated_generator_and_a_broken_slo_says_so() -> None:
    from loadtests.records import GeneratorHealth

    busy = GeneratorHealth(cpu_percent=99, loop_lag_ms=70, saturated=True)
    seconds = [build_second(7000 + i, 100, 0, 300, 900).model_copy(update={"generator": busy} if i % 2 else {})
               for i in range(20)]
    result = analyze_soak(seconds, 7000, 7020, [], SoakConfig(load=LoadPlan(rps=100, duration_s=20), warmup_s=0))
    assert result.generator_saturated_seconds == 10 and result.slo_violations
    page = render_html(QuarterlyReport(target="local", soak=result))
    assert "saturated in 10 of 20 s" in page and "SLO broken over the soak: p90" in page
    buf = io.StringIO()
    render_console(QuarterlyReport(target="local", soak=result), Console(file=buf, width=200, color_system=None))
    assert "saturated in 10 of 20 s" in buf.getvalue() and "SLO broken over the soak: p95" in buf.getvalue()
