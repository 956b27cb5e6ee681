"""journal.json stays small; the per-second series is appended to series.jsonl, each sample once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import InvalidInputError
from verify.journal import SERIES_FILE, Journal
from verify.synthetic import fault_series

T0 = 1_700_000_000


def journal(seconds: int = 10) -> Journal:
    return Journal(run_id="r", scenario="s", profile="p", target="t", started_at=T0,
                   series=fault_series(T0, seconds, T0 + 5))


def test_the_series_lives_beside_the_journal_and_loads_back(tmp_path: Path) -> None:
    j = journal()
    j.save(tmp_path / "journal.json")
    assert "series" not in json.loads((tmp_path / "journal.json").read_text())
    assert len((tmp_path / SERIES_FILE).read_text().splitlines()) == 10
    assert Journal.load(tmp_path / "journal.json") == j


def test_saving_again_appends_only_the_new_samples(tmp_path: Path) -> None:
    j = journal(20)
    extra, j.series = j.series[10:], j.series[:10]
    j.save(tmp_path / "journal.json")
    before = (tmp_path / SERIES_FILE).read_bytes()
    j.series += extra
    j.flush_series(tmp_path / "journal.json")
    j.save(tmp_path / "journal.json")  # nothing new since the flush: nothing written twice
    after = (tmp_path / SERIES_FILE).read_bytes()
    assert after.startswith(before) and len(after.splitlines()) == 20
    loaded = Journal.load(tmp_path / "journal.json")
    assert [s.t for s in loaded.series] == list(range(T0, T0 + 20))
    loaded.series.append(extra[0].model_copy(update={"t": T0 + 20}))
    loaded.save(tmp_path / "journal.json")  # a loaded journal appends after what it read
    assert len((tmp_path / SERIES_FILE).read_text().splitlines()) == 21


def test_a_journal_with_its_series_inline_still_loads_and_is_split_on_save(tmp_path: Path) -> None:
    old = journal()
    (tmp_path / "journal.json").write_text(old.model_dump_json(indent=1))  # the format before series.jsonl
    loaded = Journal.load(tmp_path / "journal.json")
    assert loaded.series == old.series
    loaded.save(tmp_path / "journal.json")
    assert "series" not in json.loads((tmp_path / "journal.json").read_text())
    assert Journal.load(tmp_path / "journal.json").series == old.series


def test_saved_elsewhere_the_whole_series_is_written_there(tmp_path: Path) -> None:
    j = journal()
    j.save(tmp_path / "a" / "journal.json")
    j.save(tmp_path / "b" / "journal.json")
    assert Journal.load(tmp_path / "b" / "journal.json").series == j.series


def test_a_line_cut_short_by_a_kill_is_dropped_a_bad_line_elsewhere_is_an_error(tmp_path: Path) -> None:
    j = journal()
    j.save(tmp_path / "journal.json")
    series = tmp_path / SERIES_FILE
    series.write_text(series.read_text() + '{"t": 1700000010, "reque')
    assert len(Journal.load(tmp_path / "journal.json").series) == 10
    lines = series.read_text().splitlines()
    series.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    with pytest.raises(InvalidInputError, match=f"{SERIES_FILE}:2: not a per-second sample"):
        Journal.load(tmp_path / "journal.json")
