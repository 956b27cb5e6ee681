"""Capacity history: append, previous comparable run, and knee regressions beyond the threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InvalidInputError
from verify.capacity import BreakReason, CapacityResult, SearchMode, StepResult, knee_of
from verify.capacity_history import CapacityHistory, capacity_row, knee_regressions
from verify.slo import Slo


def step(rate: float, met: bool, because: BreakReason = BreakReason.LATENCY) -> StepResult:
    return StepResult(rate_rps=rate, start_t=0, end_t=5, seconds=5, requests=int(rate * 5), achieved_rps=rate,
                      p50_ms=5, p90_ms=rate / 10, p95_ms=rate / 8, p99_ms=rate / 5, max_ms=rate, error_rate=0,
                      met=met, broke_because=None if met else because, reasons=[] if met else ["p90 x > 200 ms"])


def result(run_id: str, knee: float, *, target: str = "local", slo: Slo | None = None, started: float = 1.7e9,
           because: BreakReason = BreakReason.LATENCY) -> CapacityResult:
    steps = [step(r, r <= knee, because) for r in range(100, int(knee) + 101, 100)]
    k, broken = knee_of(steps)
    return CapacityResult(run_id=run_id, target=target, started_at=started, finished_at=started + 60,
                          mode=SearchMode.LINEAR, max_rps=2000, step_rps=100, hold_s=5, settle_s=1, slo=slo or Slo(),
                          knee_rps=k, broke_at_rps=broken.rate_rps if broken else None,
                          broke_because=broken.broke_because if broken else None, steps=steps)


def test_rows_round_trip_and_are_not_added_twice(tmp_path: Path) -> None:
    history = CapacityHistory(tmp_path / "history" / "capacity.jsonl")
    assert history.rows() == []
    first = result("a", 700)
    row = history.append(first)
    history.append(first)
    assert history.rows() == [row]
    assert row.knee_rps == 700 and row.broke_at_rps == 800 and row.broke_because is BreakReason.LATENCY
    assert row.knee_p95_ms == 700 / 8 and row.date == "2023-11-14T22:13:20Z"


def test_a_lower_knee_beyond_the_threshold_is_a_regression(tmp_path: Path) -> None:
    history = CapacityHistory(tmp_path / "capacity.jsonl")
    history.append(result("q1", 1000, started=1.0e9))
    history.append(result("other-target", 100, target="staging", started=1.1e9))
    slowed = result("q2", 600, started=1.2e9)
    comparison = history.compare(slowed)
    assert comparison.previous is not None and comparison.previous.run_id == "q1"  # same target only
    assert comparison.knee_change == pytest.approx(-0.4) and comparison.regressed
    (reg,) = comparison.regressions
    assert reg.measure == "knee" and reg.previous == "1,000 RPS" and reg.current == "600 RPS (-40%)"

    # Within the threshold: not flagged; a custom threshold can make it one.
    assert not history.compare(result("q3", 950)).regressed
    assert history.compare(result("q3", 950), threshold=0.01).regressed
    # Better is never a regression; the first run on a target has nothing to compare with.
    assert not history.compare(result("q4", 1200)).regressed
    first = history.compare(result("new", 100, target="elsewhere"))
    assert first.previous is None and "no previous run" in first.note


def test_no_knee_at_all_after_a_knee_is_a_regression() -> None:
    prev, cur = capacity_row(result("a", 500)), capacity_row(result("b", 0))
    assert cur.knee_rps is None
    (reg,) = knee_regressions(cur, prev)
    assert reg.current.startswith("none")


def test_a_generator_limited_run_is_not_blamed_on_the_target(tmp_path: Path) -> None:
    history = CapacityHistory(tmp_path / "capacity.jsonl")
    history.append(result("a", 1000))
    limited = history.compare(result("b", 300, because=BreakReason.GENERATOR_SATURATION))
    assert not limited.regressed and "load generator" in limited.note


def test_a_different_slo_is_not_compared(tmp_path: Path) -> None:
    history = CapacityHistory(tmp_path / "capacity.jsonl")
    history.append(result("a", 1000))
    assert history.compare(result("b", 300, slo=Slo(p90_ms=50))).previous is None


def test_previous_of_a_recorded_row_looks_only_before_it(tmp_path: Path) -> None:
    history = CapacityHistory(tmp_path / "capacity.jsonl")
    rows = [history.append(result(name, 500)) for name in ("a", "b", "c")]
    assert history.previous(rows[1]).run_id == "a"  # type: ignore[union-attr]
    assert history.previous(rows[0]) is None


def test_a_damaged_history_line_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "capacity.jsonl"
    CapacityHistory(path).append(result("a", 500))
    path.write_text(path.read_text() + '{"run_id": "x"}\n')
    with pytest.raises(InvalidInputError, match=r"capacity.jsonl:2: "):
        CapacityHistory(path).rows()
