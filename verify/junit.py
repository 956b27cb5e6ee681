"""`junit.xml`: one test suite per drill, one test case per check, so CI names the broken promise.

A scenario expected to fail (a negative control) reports its failing checks as
skipped ("expected failure", like pytest's xfail), and fails an extra case if
every check unexpectedly passed. A run that errored or was aborted gets a
`run` case with an <error>.

An inconclusive check (its measurement cannot be trusted: the load generator
was saturated) is an <error type="Inconclusive">, not a <skipped>: JUnit's error
is "the test could not be carried out properly", which is what happened, and CI
shows it red like the run's exit code 1. <skipped> would read as a check nobody
asked for, and here already means an expected failure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from verify.journal import Journal, RunStatus, iso

_BROKEN = {RunStatus.ERROR, RunStatus.ABORTED, RunStatus.RUNNING}  # INCONCLUSIVE: its checks carry the errors


def _value(value: float | str | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:,.6g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()


def _suite(journal: Journal, name: str) -> ET.Element:
    classname = f"hanbit-drill.{journal.scenario}"
    suite = ET.Element("testsuite", name=name, timestamp=iso(journal.started_at), hostname=journal.target)
    props = ET.SubElement(suite, "properties")
    for key, value in (("run_id", journal.run_id), ("profile", journal.profile), ("target", journal.target),
                       ("status", journal.status.value), ("expected_to_fail", str(journal.expected_to_fail).lower())):
        ET.SubElement(props, "property", name=key, value=value)
    # The two moments after the fault, whichever checks ran: what the load saw first, and when the alarm paged.
    for key, seconds in (("first_bad_s", journal.first_bad_s), ("alarm_s", journal.detection_s)):
        if seconds is not None:
            ET.SubElement(props, "property", name=key, value=f"{seconds:.3f}")
    if journal.detected_by:
        ET.SubElement(props, "property", name="alarm_by", value=journal.detected_by)
    counts: Counter[str] = Counter()
    any_failed = False
    for check in journal.checks:
        case = ET.SubElement(suite, "testcase", classname=classname, name=check.name, time="0")
        counts["tests"] += 1
        summary = f"{check.name}: {_value(check.value, check.unit)} (limit {_value(check.limit, check.unit)})"
        if check.passed:
            ET.SubElement(case, "system-out").text = f"{summary}: {check.detail}"
            continue
        if check.inconclusive:
            ET.SubElement(case, "error", message=f"inconclusive: {summary}", type="Inconclusive").text = check.detail
            counts["errors"] += 1
            continue
        any_failed = True
        if journal.expected_to_fail:
            ET.SubElement(case, "skipped", message=f"expected failure: {summary}").text = check.detail
            counts["skipped"] += 1
        else:
            ET.SubElement(case, "failure", message=summary, type="CheckFailed").text = check.detail
            counts["failures"] += 1
    if journal.status in _BROKEN:
        case = ET.SubElement(suite, "testcase", classname=classname, name="run", time="0")
        reason = journal.reason or f"the run ended with status {journal.status.value}"
        ET.SubElement(case, "error", message=reason, type=journal.status.value).text = reason
        counts["tests"] += 1
        counts["errors"] += 1
    elif journal.expected_to_fail and not any_failed:
        case = ET.SubElement(suite, "testcase", classname=classname, name="expected-failure", time="0")
        message = "the scenario is marked expected to fail, but every check passed"
        ET.SubElement(case, "failure", message=message, type="UnexpectedPass").text = message
        counts["tests"] += 1
        counts["failures"] += 1
    duration = (journal.ended_at or journal.started_at) - journal.started_at
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("time", f"{max(duration, 0.0):.3f}")
    return suite


def junit_tree(journals: Sequence[Journal]) -> ET.ElementTree:
    root = ET.Element("testsuites", name="hanbit-drill")
    per_scenario = Counter(j.scenario for j in journals)
    totals: Counter[str] = Counter()
    time_total = 0.0
    for journal in journals:
        name = journal.scenario if per_scenario[journal.scenario] == 1 else f"{journal.scenario}[{journal.target}/{journal.run_id}]"
        suite = _suite(journal, name)
        root.append(suite)
        for key in ("tests", "failures", "errors", "skipped"):
            totals[key] += int(suite.get(key, "0"))
        time_total += float(suite.get("time", "0"))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", f"{time_total:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(journals: Sequence[Journal], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(journals).write(path, encoding="utf-8", xml_declaration=True)
    return path
