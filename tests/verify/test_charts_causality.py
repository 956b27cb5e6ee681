"""No effect before its cause: on the report's charts, no failure is drawn left of the fault line.

Journals shaped like the shipped smoke drills, each with its fault landing mid-second (the second it
lands in holds failures from the fault on): lambda-failure (502s until the rollback), table-corruption
(a few errors and lost reads until the restore) and region-outage (connections refused until failover).
"""

from __future__ import annotations

import re

import pytest

from verify.charts import steps
from verify.journal import FaultRecord, Journal, RunStatus
from verify.report_html import render_html
from verify.slo import AlarmRule
from verify.synthetic import build_second

T0 = 1_700_000_000
FAULT = T0 + 30.4  # mid-second


def drill(scenario: str, kind: str, error_rate: float, until: float) -> Journal:
    series = []
    for t in range(T0, T0 + 60):
        share = max(0.0, min(t + 1, until) - max(t, FAULT))  # of this second, after the fault and before the fix
        series.append(build_second(t, 100, round(100 * error_rate * share), failure_kind=kind))
    fault = FaultRecord(id="f", action="x", provider="local", target="local", intended_at=FAULT, injected_at=FAULT)
    return Journal(run_id="r", scenario=scenario, profile="smoke", target="local", started_at=T0, time_scale=0.05,
                   status=RunStatus.PASSED, sustained_s=3.0, alarm=AlarmRule().scaled(0.05), fault_at=FAULT,
                   faults=[fault], series=series)


SHIPPED = [
    drill("lambda-failure", "http_502", 1.0, FAULT + 6.3),
    drill("table-corruption", "http_500", 0.2, FAULT + 6.0),
    drill("region-outage", "connection_refused", 1.0, FAULT + 18.7),
]
FAILURE_SERIES = ("failed / s", "per second", "alarm datapoints")
PLOT_BOTTOM = 46 + (240 - 46 - 40)  # zero on the throughput and error-rate charts (SvgChart's margins)


def charts(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, flags=re.S)


def fault_line_x(svg: str) -> float:
    x = re.search(r'<line x1="([\d.]+)"[^>]*/><text[^>]*>fault injected</text>', svg)
    assert x is not None, "no fault line"
    return float(x.group(1))


@pytest.mark.parametrize("journal", SHIPPED, ids=[j.scenario for j in SHIPPED])
def test_no_failure_is_drawn_left_of_the_fault_line(journal: Journal) -> None:
    html = render_html(journal)
    before = after = 0
    for svg in charts(html):
        if "chart-health" in svg:
            continue
        fault_x = fault_line_x(svg)
        for name, points in re.findall(r'data-series="([^"]+)" points="([^"]*)"', svg):
            if not name.startswith(FAILURE_SERIES):
                continue
            # Step lines: every segment is horizontal or vertical, so checking the vertices checks the line.
            for x, y in (map(float, p.split(",")) for p in points.split()):
                if x < fault_x - 0.05:
                    before += 1
                    assert y == pytest.approx(PLOT_BOTTOM), f"{name}: failure drawn at x={x} < fault line {fault_x}"
                else:
                    after += y < PLOT_BOTTOM - 1  # a failure drawn, right of the line
    assert before >= 3 and after >= 3  # the three failure lines run on both sides of the fault line


@pytest.mark.parametrize("journal", SHIPPED, ids=[j.scenario for j in SHIPPED])
def test_the_per_second_strip_turns_red_at_the_fault_line_not_before(journal: Journal) -> None:
    (strip,) = [svg for svg in charts(render_html(journal)) if "chart-health" in svg]
    # The strip spans the same seconds: its fault line is at the fault's share of them.
    left, width = 64, 960 - 64 - 16
    x0, x1 = T0 - FAULT, T0 + 60 - FAULT
    fault_x = left + (0 - x0) / (x1 - x0) * width
    reds = [float(x) for x in re.findall(r'<rect x="([\d.]+)"[^>]*fill="#fa5252"', strip)]
    assert reds and min(reds) == pytest.approx(fault_x, abs=0.01)


def test_steps_start_the_straddling_bucket_at_the_cause() -> None:
    assert steps([(-1, 0.0), (0, 50.0), (1, 100.0)], 1.0, cause=0.5) == [
        (-1, 0.0), (0, 0.0), (0.5, 0.0), (0.5, 50.0), (1, 50.0), (1, 100.0), (2, 100.0)]
    assert steps([(0.0, None), (1.0, 3.0)]) == [(0.0, None), (1.0, 3.0), (2.0, 3.0)]
    assert steps([(0, 1.0), (1, 1.0), (2, 1.0), (3, 2.0)]) == [(0, 1.0), (3, 1.0), (3, 2.0), (4, 2.0)]
