import xml.etree.ElementTree as ET

from rich.console import Console

from verify.journal import Journal, LedgerSummary, RunStatus
from verify.junit import write_junit
from verify.report_console import render_console
from verify.report_html import render_html, write_html


def test_console_summary_shows_verdict_timings_checks_and_actions(journal_factory):
    journal = journal_factory(outage_end=40, ledger=LedgerSummary(writes=10, acknowledged=9, lost=7, rpo_s=3.0))
    console = Console(record=True, width=160)
    render_console(journal, console)
    text = console.export_text()
    assert "lambda-failure FAILED" in text
    assert "recovery time" in text and "20.0 s  (RTO 15 s)" in text
    assert "rto" in text and "FAIL" in text
    assert "lambda.deploy-bad-version" in text and "reverted" in text and "lambda.rollback" in text
    assert "7 lost" in text


def test_console_handles_a_run_without_fault_or_series():
    journal = Journal(run_id="r", scenario="steady", profile="smoke", target="local", started_at=0.0)
    console = Console(record=True, width=120)
    render_console(journal, console)
    assert "none injected" in console.export_text()


def test_html_is_self_contained_with_charts_markers_and_tables(journal_factory, tmp_path):
    journal = journal_factory(ledger=LedgerSummary(writes=5, acknowledged=5))
    path = write_html(journal, tmp_path / "out" / "report.html")
    html = path.read_text()
    assert html.count("<svg") == 4  # throughput, latency, error rate, per-second SLO strip
    for css in ("chart-rps", "chart-latency", "chart-errors", "chart-health"):
        assert css in html
    assert "fault injected" in html and "alarm +8.0 s" in html and "recovered +11.0 s" in html and "remediated" in html
    assert "fault until recovery" in html  # the shaded band
    for fetch in ("src=", "href=", "url(", "@import", "http://", "https://", "<script"):
        assert fetch not in html  # nothing to fetch, no JS: it opens offline
    assert "<td>rto</td>" in html and "Write ledger" in html and "lambda.deploy-bad-version" in html


def test_html_without_samples_says_so():
    journal = Journal(run_id="r", scenario="s", profile="p", target="t", started_at=0.0, status=RunStatus.ERROR,
                      reason="target unreachable")
    html = render_html(journal)
    assert "No per-second samples" in html and "target unreachable" in html and "ERROR" in html


def test_junit_has_a_case_per_check_and_a_suite_per_scenario(journal_factory, tmp_path):
    good = journal_factory(run_id="a")
    bad = journal_factory(run_id="b", scenario="region-outage", outage_end=65)
    path = write_junit([good, bad], tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"lambda-failure", "region-outage"}
    assert [c.get("name") for c in suites["lambda-failure"].iter("testcase")] == [c.name for c in good.checks]
    failed = [c.get("name") for c in suites["region-outage"].iter("testcase") if c.find("failure") is not None]
    assert failed == ["rto", "slo-after-recovery"]
    assert root.get("failures") == "2" and suites["region-outage"].get("failures") == "2"
    assert "never recovered" in suites["region-outage"].find("testcase[@name='rto']/failure").text


def test_junit_expected_failures_are_skipped_and_an_unexpected_pass_fails(journal_factory, tmp_path):
    xfail = journal_factory(run_id="x", outage_end=65, expected_to_fail=True)
    xpass = journal_factory(run_id="y", scenario="negative-control", expected_to_fail=True)
    broken = journal_factory(run_id="z", scenario="crashed", status=RunStatus.ERROR, reason="provider died")
    root = ET.parse(write_junit([xfail, xpass, broken], tmp_path / "j.xml")).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["lambda-failure"].get("skipped") == "2" and suites["lambda-failure"].get("failures") == "0"
    assert suites["negative-control"].find("testcase[@name='expected-failure']/failure") is not None
    assert suites["crashed"].find("testcase[@name='run']/error").get("message") == "provider died"


def test_junit_suite_properties_carry_the_first_bad_second_and_the_alarm_time(journal_factory, tmp_path):
    journal = journal_factory(first_bad_s=0.0, detection_s=8.0, detected_by="cloudwatch model")  # as the engine
    suite = ET.parse(write_junit([journal], tmp_path / "j.xml")).getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["first_bad_s"], props["alarm_s"], props["alarm_by"]) == ("0.000", "8.000", "cloudwatch model")
    detection = suite.find("testcase[@name='detection']/system-out").text
    assert "first bad second +0.0 s" in detection and "alarm +8.0 s (cloudwatch model" in detection
