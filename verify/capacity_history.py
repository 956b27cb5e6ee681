"""Capacity history: one JSON line per capacity run, and the comparison with the previous run.

A run is compared with the previous run on the same target judged against the same SLO (a knee
under a stricter SLO is not a regression). A knee lower by more than the threshold (default 10 %)
is a regression, unless the current run was stopped by its own load generator: then its knee is
only a lower bound of the target's, and the comparison says so instead of blaming the target.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from common.errors import InvalidInputError
from verify.capacity import BreakReason, CapacityResult
from verify.history import REGRESSION_RATIO, Regression

CAPACITY_FILE = "capacity.jsonl"


class CapacityRow(BaseModel):
    run_id: str
    date: str  # ISO 8601 UTC of the run's start
    target: str
    mode: str
    step_rps: float
    max_rps: float
    hold_s: float
    slo_p90_ms: float
    slo_p95_ms: float
    slo_error_rate: float
    knee_rps: float | None
    broke_at_rps: float | None
    broke_because: BreakReason | None
    knee_p90_ms: float | None = None
    knee_p95_ms: float | None = None

    @property
    def key(self) -> tuple[str, float, float, float]:
        return self.target, self.slo_p90_ms, self.slo_p95_ms, self.slo_error_rate

    @property
    def limited_by_generator(self) -> bool:
        return self.broke_because is BreakReason.GENERATOR_SATURATION


class CapacityComparison(BaseModel):
    current: CapacityRow
    previous: CapacityRow | None
    threshold: float
    knee_change: float | None  # (current - previous) / previous
    regressions: list[Regression]
    note: str = ""

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)


def capacity_row(result: CapacityResult) -> CapacityRow:
    started = datetime.fromtimestamp(result.started_at, tz=UTC)
    knee = result.knee_step
    return CapacityRow(
        run_id=result.run_id, date=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        target=result.target, mode=result.mode.value, step_rps=result.step_rps, max_rps=result.max_rps,
        hold_s=result.hold_s, slo_p90_ms=result.slo.p90_ms, slo_p95_ms=result.slo.p95_ms,
        slo_error_rate=result.slo.error_rate, knee_rps=result.knee_rps, broke_at_rps=result.broke_at_rps,
        broke_because=result.broke_because, knee_p90_ms=knee.p90_ms if knee else None,
        knee_p95_ms=knee.p95_ms if knee else None,
    )


def _fmt(rps: float | None) -> str:
    return "none" if rps is None else f"{rps:,.0f} RPS"


def knee_regressions(current: CapacityRow, previous: CapacityRow, threshold: float = REGRESSION_RATIO) -> list[Regression]:
    """What got worse from `previous` to `current` (same target and SLO)."""
    if previous.knee_rps is None or current.limited_by_generator:
        return []
    cur = current.knee_rps or 0.0
    if cur < previous.knee_rps * (1 - threshold):
        drop = (previous.knee_rps - cur) / previous.knee_rps
        return [Regression(run_id=current.run_id, previous_run_id=previous.run_id, measure="knee",
                           previous=_fmt(previous.knee_rps), current=f"{_fmt(current.knee_rps)} (-{drop:.0%})")]
    return []


class CapacityHistory:
    """The capacity runs of one history file (JSON lines), oldest first."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def rows(self) -> list[CapacityRow]:
        if not self.path.exists():
            return []
        rows: list[CapacityRow] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(CapacityRow.model_validate_json(line))
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"]) or "row"
                raise InvalidInputError(f"{self.path}:{number}: {where}: {problem['msg']}") from None
        return rows

    def previous(self, row: CapacityRow, rows: list[CapacityRow] | None = None) -> CapacityRow | None:
        """The last comparable run recorded before `row` (or before now, if `row` is not recorded)."""
        rows = self.rows() if rows is None else rows
        ids = [r.run_id for r in rows]
        before = rows[: ids.index(row.run_id)] if row.run_id in ids else rows
        return next((r for r in reversed(before) if r.key == row.key), None)

    def compare(self, result: CapacityResult | CapacityRow, threshold: float = REGRESSION_RATIO) -> CapacityComparison:
        row = capacity_row(result) if isinstance(result, CapacityResult) else result
        previous = self.previous(row)
        if previous is None:
            return CapacityComparison(current=row, previous=None, threshold=threshold, knee_change=None,
                                      regressions=[], note=f"no previous run on {row.target} with this SLO")
        change = None
        if previous.knee_rps and row.knee_rps is not None:
            change = (row.knee_rps - previous.knee_rps) / previous.knee_rps
        note = ""
        if row.limited_by_generator:
            note = "this run was stopped by its own load generator: its knee is a lower bound, not compared"
        elif previous.limited_by_generator:
            note = "the previous run was stopped by its load generator: its knee was a lower bound"
        return CapacityComparison(current=row, previous=previous, threshold=threshold, knee_change=change,
                                  regressions=knee_regressions(row, previous, threshold), note=note)

    def append(self, result: CapacityResult) -> CapacityRow:
        """Append the run's row; a run already recorded is not added twice."""
        row = capacity_row(result)
        if any(r.run_id == row.run_id for r in self.rows()):
            return row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(row.model_dump_json() + "\n")
        return row
