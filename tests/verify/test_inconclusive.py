"""A latency verdict over a window where the load generator was saturated is inconclusive, everywhere it shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rich.console import Console

from loadtests.records import GeneratorHealth
from verify.checks import evaluate
from verify.history import history_row
from verify.journal import RunStatus, Verdict
from verify.junit import write_junit
from verify.report_console import render_console
from verify.report_html import render_html

BUSY = GeneratorHealth(cpu_percent=100.0, loop_lag_ms=90.0, saturated=True)


def saturate(journal, first: int, last: int):
    """The generator saturated in the seconds [first, last) after the journal's start."""
    start = journal.series[0].t
    journal.series = [s.model_copy(update={"generator": BUSY}) if first <= s.t - start < last else s
                      for s in journal.series]
    journal.checks = evaluate(journal)
    journal.status = RunStatus.INCONCLUSIVE if any(c.inconclusive for c in journal.checks) else journal.status
    return journal


def verdicts(journal) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in journal.checks}


def test_more_than_5_percent_saturated_seconds_make_the_latency_checks_inconclusive(journal_factory) -> None:
    # The baseline is the first 20 s: 2 saturated seconds are 10 %. The after-recovery window is clean.
    journal = saturate(journal_factory(), 0, 2)
    assert verdicts(journal) == {"slo-baseline": Verdict.INCONCLUSIVE, "detection": Verdict.PASSED,
                                 "rto": Verdict.PASSED, "slo-after-recovery": Verdict.PASSED}
    baseline = journal.checks[0]
    assert not baseline.passed and baseline.detail.startswith(
        "the load generator was saturated in 2 of 20 s of the baseline window (10% > 5%)")


def test_at_most_5_percent_is_judged_as_usual(journal_factory) -> None:
    journal = saturate(journal_factory(), 0, 1)  # 1 of 20 s: 5 %
    assert verdicts(journal)["slo-baseline"] is Verdict.PASSED


def test_the_reports_show_it(journal_factory, tmp_path) -> None:
    journal = saturate(journal_factory(), 0, 2)
    console = Console(record=True, width=200)
    render_console(journal, console)
    text = console.export_text()
    assert "lambda-failure INCONCLUSIVE" in text and "INCONCLUSIVE" in text.split("Checks", 1)[1]
    assert "first bad second" in text and "alarm (paged)" in text and "+8.0 s  (cloudwatch model)" in text
    html = render_html(journal)
    assert '<td class="inconclusive">INCONCLUSIVE</td>' in html and "first bad second" in html
    case = ET.parse(write_junit([journal], tmp_path / "j.xml")).getroot().find(
        ".//testcase[@name='slo-baseline']/error")
    assert case is not None and case.get("type") == "Inconclusive" and case.get("message").startswith("inconclusive:")
    row = history_row(journal)
    assert row.verdict == "inconclusive" and row.inconclusive_checks == ["slo-baseline"] and row.failed_checks == []
