import argparse
import json

import pytest

from common.errors import CheckFailedError, HarnessError, InvalidInputError
from scenarios.report_commands import add_commands
from verify.history import append_history


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")  # rich folds table cells at the default 80 columns


def run(argv):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_history_flags_a_regression_against_the_previous_run(journal_factory, tmp_path, capsys):
    append_history(tmp_path, journal_factory(run_id="r1", outage_end=31))
    append_history(tmp_path, journal_factory(run_id="r2", outage_end=36, start=1_700_001_000))
    assert run(["history", "--dir", str(tmp_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "REGRESSION lambda-failure on local (smoke), run r2: verdict passed → failed (rto)" in out
    assert "recovery 11.0 s → 16.0 s (+45%)" in out
    assert "bad / alarm" in out and "+0.0 / +8.0 s" in out  # the first bad second, then the alarm
    with pytest.raises(CheckFailedError):
        run(["history", "--dir", str(tmp_path), "--fail-on-regression"])


def test_history_filters_and_handles_an_empty_directory(journal_factory, tmp_path, capsys):
    assert run(["history", "--dir", str(tmp_path / "none")]) == 0
    assert "no drill runs recorded" in capsys.readouterr().out
    append_history(tmp_path, journal_factory(run_id="r1"))
    append_history(tmp_path, journal_factory(run_id="r2", scenario="region-outage"))
    run(["history", "--dir", str(tmp_path), "--scenario", "region-outage"])
    out = capsys.readouterr().out
    assert "region-outage" in out and "lambda-failure" not in out
    with pytest.raises(InvalidInputError):
        run(["history", "--dir", str(tmp_path), "--limit", "0"])


def test_report_renders_a_saved_journal(journal_factory, tmp_path, capsys):
    journal = journal_factory()
    journal.save(tmp_path / "run" / "journal.json")
    assert run(["report", str(tmp_path / "run"), "--html", str(tmp_path / "r.html"), "--junit", str(tmp_path / "j.xml")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 0 and (tmp_path / "j.xml").stat().st_size > 0
    assert "lambda-failure PASSED" in capsys.readouterr().out


def test_report_rejects_a_broken_journal_clearly(tmp_path):
    bad = tmp_path / "journal.json"
    bad.write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(InvalidInputError, match="journal.json: scenario: Field required") as err:
        run(["report", str(bad)])
    assert isinstance(err.value, HarnessError) and err.value.exit_code == 2
    with pytest.raises(InvalidInputError, match="no such journal"):
        run(["report", str(tmp_path / "missing.json")])
