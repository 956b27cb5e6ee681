"""The smoke suite for real: `hanbit-drill run` against the bundled service, as a user runs it.

The run is the README transcript's (tests/e2e/conftest.py: typed in a fresh directory, default
options). Each drill must show a real injected fault, measured detection, remediation, recovery and
integrity figures, and leave an HTML report in its run directory.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from verify.journal import Journal, RunStatus

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke_run(first_five_minutes) -> tuple[subprocess.CompletedProcess[str], Path]:
    (typed,) = [t for t in first_five_minutes.typed if t.step.command == "hanbit-drill run"]
    return typed.result, first_five_minutes.runs


def journals(report_dir: Path) -> dict[str, Journal]:
    return {Journal.load(p).scenario: Journal.load(p) for p in report_dir.glob("2*/*/journal.json")}


def test_smoke_suite_passes(smoke_run) -> None:
    result, report_dir = smoke_run
    assert result.returncode == 0, result.stdout[-6000:]
    assert set(journals(report_dir)) == {"lambda-failure", "table-corruption", "region-outage"}


@pytest.mark.parametrize("scenario", ["lambda-failure", "table-corruption", "region-outage"])
def test_each_drill_journal_shows_a_real_fault_and_its_recovery(smoke_run, scenario: str) -> None:
    _, report_dir = smoke_run
    journal = journals(report_dir)[scenario]
    assert journal.status is RunStatus.PASSED, journal.reason
    assert journal.faults and all(f.injected_at and f.reverted_at for f in journal.faults)
    assert journal.recovery_s is not None and journal.rto_s is not None and journal.recovery_s <= journal.rto_s
    assert journal.remediations and all(r.error is None for r in journal.remediations)
    # The load saw the fault: some second after the injection had failures or slow answers.
    after = [s for s in journal.series if s.t >= int(journal.fault_at)]
    assert any(s.failed or s.p90_ms > journal.slo.p90_ms for s in after)
    assert min(s.requests for s in journal.series[3:]) > 0
    assert journal.ledger is not None and journal.ledger.acknowledged > 0
    run_dir = next(report_dir.glob(f"*/{scenario}"))
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert (run_dir / "junit.xml").exists()


def test_smoke_load_is_at_least_200_rps(smoke_run) -> None:
    _, report_dir = smoke_run
    for journal in journals(report_dir).values():
        baseline = [s.requests for s in journal.series[3:8]]
        assert min(baseline) >= 190, (journal.scenario, baseline)  # 200 RPS target, a second may straddle


def test_lambda_failure_detection_is_measured(smoke_run) -> None:
    _, report_dir = smoke_run
    journal = journals(report_dir)["lambda-failure"]
    assert journal.detection_s is not None and journal.detection_s > 0
    assert journal.detected_at and journal.detected_at > journal.fault_at


def test_region_outage_counts_unreplicated_writes(smoke_run) -> None:
    _, report_dir = smoke_run
    journal = journals(report_dir)["region-outage"]
    rpo = next(c for c in journal.checks if c.name == "rpo")
    assert rpo.passed, rpo.detail
    assert journal.ledger is not None and journal.ledger.rpo_s is not None
