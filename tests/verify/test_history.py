import pytest

from common.errors import InvalidInputError
from verify.history import all_regressions, append_history, incidents, load_history, regressions

T0 = 1_700_000_000


def test_each_run_appends_a_row_and_an_incident_once(journal_factory, tmp_path):
    journal = journal_factory()
    row = append_history(tmp_path, journal)
    append_history(tmp_path, journal)  # re-rendering a run does not duplicate it
    rows = load_history(tmp_path)
    assert rows == [row]
    # The smoke alarm pages 8 s after the fault (tests/verify/test_checks.py works it out); the load saw it at once.
    assert row.verdict == "passed" and row.recovery_s == pytest.approx(11) and row.detection_s == pytest.approx(8)
    assert row.first_bad_s == 0.0 and row.detected_by == "cloudwatch model" and row.detection_jitter_s == 18.0
    assert row.p95_ms == pytest.approx(57, rel=0.05) and row.rto_s == 15.0
    entry = incidents(tmp_path)[0]
    assert "errors" in entry.what_failed and "lambda.deploy-bad-version" in entry.cause
    assert "lambda.rollback" in entry.resolution and "11.0 s after the fault" in entry.resolution
    assert entry.prevention.startswith("no action needed")
    markdown = (tmp_path / "incidents.md").read_text()
    for field in ("**What failed:**", "**Cause:**", "**Resolution:**", "**Prevention:**"):
        assert field in markdown


def test_a_slower_recovery_is_a_regression_against_the_previous_run(journal_factory, tmp_path):
    append_history(tmp_path, journal_factory(run_id="r1", outage_end=31))
    append_history(tmp_path, journal_factory(run_id="r2", outage_end=35, start=T0 + 1000))
    rows = load_history(tmp_path)
    found = all_regressions(rows)["r2"]
    assert [r.measure for r in found] == ["recovery"]
    assert found[0].previous == "11.0 s" and found[0].current.startswith("15.0 s (+36%)")


def test_small_noise_is_not_a_regression_but_p95_and_failures_are(journal_factory):
    from verify.history import history_row
    base = history_row(journal_factory(run_id="a"))
    same = history_row(journal_factory(run_id="b", start=T0 + 500))
    assert regressions(same, base) == []
    slow = history_row(journal_factory(run_id="c", baseline_ms=90.0))
    assert [r.measure for r in regressions(slow, base)] == ["p95"]
    broken = history_row(journal_factory(run_id="d", outage_end=60))
    measures = [r.measure for r in regressions(broken, base)]
    assert measures[0] == "verdict" and "recovery" in measures


def test_runs_of_other_targets_or_profiles_are_not_compared(journal_factory, tmp_path):
    append_history(tmp_path, journal_factory(run_id="r1", outage_end=31))
    append_history(tmp_path, journal_factory(run_id="r2", outage_end=40, profile="full"))
    assert all_regressions(load_history(tmp_path)) == {}


def test_a_damaged_history_file_is_reported_with_its_line(tmp_path):
    (tmp_path / "history.jsonl").write_text('{"run_id": "x"}\n')
    with pytest.raises(InvalidInputError, match=r"history.jsonl:1: date: Field required"):
        load_history(tmp_path)
