"""Drill history: one JSON line per run, an incident-log entry per run, and regressions between runs.

`history.jsonl` rows hold what operators trend month to month (verdict,
the first bad second and the alarm time, recovery against the RTO, measured
RPO, p95). An alarm on clock-aligned periods pages sooner or later by up to a
period depending on where in a period the fault lands: a later alarm is a
regression only when it is later by more than that. `incidents.md` and
`incidents.jsonl` hold an entry in the operations manual's incident-log shape:
date, what failed, cause, how it was resolved, how recurrence is prevented.
A run is compared only with the previous run of the same scenario, target
and profile (a smoke profile's scaled times are not comparable to a full one).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from common.errors import InvalidInputError
from verify.incident import IncidentEntry, incident_entry
from verify.journal import Journal
from verify.report_data import ReportData, report_data
from verify.report_gameday import OperatorTimes, operator_steps
from verify.slo import DetectionModelName

HISTORY_FILE = "history.jsonl"
INCIDENTS_MD = "incidents.md"
INCIDENTS_JSONL = "incidents.jsonl"

# Worse by more than this share counts as a regression...
REGRESSION_RATIO = 0.10
# ...if also worse by at least this much: times are measured in whole seconds of samples.
MIN_TIME_DELTA_S = 1.0


class HistoryRow(BaseModel):
    run_id: str
    date: str  # ISO 8601 UTC of the run's start
    scenario: str
    target: str
    profile: str
    verdict: str  # the run status: passed / failed / aborted / error
    expected_to_fail: bool = False
    first_bad_s: float | None = None  # the first whole second after the fault breaching the alarm's thresholds
    detection_s: float | None = None  # the alarm time: when the on-call was paged
    detected_by: str = ""  # "cloudwatch model", "trailing model", "alarm NAME"
    detection_jitter_s: float = 0.0  # how far the alarm time moves with the fault's place in a period
    recovery_s: float | None = None
    rto_s: float | None = None
    rpo_s: float | None = None  # measured: age at the fault of the oldest lost acknowledged write
    rpo_limit_s: float | None = None
    lost: int | None = None
    p95_ms: float | None = None  # baseline (steady state) p95
    fault_p95_ms: float | None = None  # p95 while the fault was in effect
    failed_checks: list[str] = Field(default_factory=list)
    inconclusive_checks: list[str] = Field(default_factory=list)  # not judged: e.g. the generator was saturated
    # Game day: the slowest operator step's times after its page; taken over = nobody acted in time.
    acknowledge_s: float | None = None
    act_s: float | None = None
    taken_over: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return self.scenario, self.target, self.profile


class Regression(BaseModel):
    run_id: str
    previous_run_id: str
    measure: str
    previous: str
    current: str


def _operator_times(journal: Journal) -> dict[str, object]:
    times = [OperatorTimes.of(step) for step in operator_steps(journal)]
    if not times:
        return {}
    acks = [t.acknowledge_s for t in times if t.acknowledge_s is not None]
    acts = [t.act_s for t in times if t.act_s is not None]
    return {"acknowledge_s": max(acks, default=None), "act_s": max(acts, default=None),
            "taken_over": any(t.taken_over for t in times)}


def history_row(journal: Journal, data: ReportData | None = None) -> HistoryRow:
    data = data or report_data(journal)
    started = datetime.fromtimestamp(journal.started_at, tz=timezone.utc)
    during = data.windows.during_fault
    return HistoryRow(
        run_id=journal.run_id,
        date=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        scenario=journal.scenario,
        target=journal.target,
        profile=journal.profile,
        verdict=journal.status.value,
        expected_to_fail=journal.expected_to_fail,
        first_bad_s=data.first_bad_s,
        detection_s=data.detection_s,
        detected_by=data.detected_by,
        detection_jitter_s=_jitter(data),
        recovery_s=data.recovery_s,
        rto_s=journal.rto_s,
        **_operator_times(journal),
        rpo_s=journal.ledger.rpo_s if journal.ledger else None,
        rpo_limit_s=journal.rpo_s,
        lost=journal.ledger.lost if journal.ledger else None,
        p95_ms=data.windows.baseline.p95_ms if data.windows.baseline.requests else None,
        fault_p95_ms=during.p95_ms if during is not None and during.requests else None,
        failed_checks=[c.name for c in journal.checks if c.failed],
        inconclusive_checks=[c.name for c in journal.checks if c.inconclusive],
    )


def _jitter(data: ReportData) -> float:
    """How far the alarm time moves with where in a period the fault lands: a clock-aligned alarm's period
    plus its evaluation interval; nothing for the trailing model, evaluated every second."""
    alarm = data.alarm
    if alarm.model is DetectionModelName.TRAILING and not data.detected_by.startswith("alarm "):
        return 0.0
    return alarm.period_s + alarm.interval_s


def load_history(history_dir: Path) -> list[HistoryRow]:
    path = Path(history_dir) / HISTORY_FILE
    if not path.exists():
        return []
    rows: list[HistoryRow] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(HistoryRow.model_validate_json(line))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "row"
            raise InvalidInputError(f"{path}:{number}: {where}: {problem['msg']}") from None
    return rows


def append_history(history_dir: Path, journal: Journal) -> HistoryRow:
    """Append the run's row and incident entry; a run already in the history is not added twice."""
    history_dir = Path(history_dir)
    history_dir.mkdir(parents=True, exist_ok=True)
    data = report_data(journal)
    row = history_row(journal, data)
    if any(r.run_id == row.run_id for r in load_history(history_dir)):
        return row
    entry = incident_entry(journal, data)
    with (history_dir / HISTORY_FILE).open("a", encoding="utf-8") as handle:
        handle.write(row.model_dump_json() + "\n")
    with (history_dir / INCIDENTS_JSONL).open("a", encoding="utf-8") as handle:
        handle.write(entry.model_dump_json() + "\n")
    with (history_dir / INCIDENTS_MD).open("a", encoding="utf-8") as handle:
        handle.write(entry.markdown() + "\n")
    return row


def _worse_time(measure: str, prev: float | None, cur: float | None, noise_s: float = 0.0) -> tuple[str, str] | None:
    if prev is not None and cur is None:
        return f"{prev:,.1f} s", f"never ({measure} missing)"
    if prev is None or cur is None:
        return None
    if cur > prev * (1 + REGRESSION_RATIO) and cur - prev >= max(MIN_TIME_DELTA_S, noise_s):
        return f"{prev:,.1f} s", f"{cur:,.1f} s (+{(cur - prev) / prev:.0%})" if prev else f"{cur:,.1f} s"
    return None


def regressions(current: HistoryRow, previous: HistoryRow) -> list[Regression]:
    """What got worse from `previous` to `current` (same scenario, target and profile)."""
    found: list[Regression] = []

    def add(measure: str, before: str, after: str) -> None:
        found.append(Regression(run_id=current.run_id, previous_run_id=previous.run_id, measure=measure,
                                previous=before, current=after))

    if previous.verdict == "passed" and current.verdict != "passed":
        add("verdict", previous.verdict, f"{current.verdict} ({', '.join(current.failed_checks) or 'no checks'})")
    jitter = max(previous.detection_jitter_s, current.detection_jitter_s)
    for measure in ("detection_s", "recovery_s", "rpo_s"):
        noise = jitter if measure == "detection_s" else 0.0
        worse = _worse_time(measure, getattr(previous, measure), getattr(current, measure), noise)
        if worse and not (measure == "rpo_s" and current.rpo_s is None):
            add(measure.removesuffix("_s"), *worse)
    for measure in ("p95_ms", "fault_p95_ms"):
        prev, cur = getattr(previous, measure), getattr(current, measure)
        if prev and cur and cur > prev * (1 + REGRESSION_RATIO):
            add(measure.removesuffix("_ms"), f"{prev:,.0f} ms", f"{cur:,.0f} ms (+{(cur - prev) / prev:.0%})")
    if (current.lost or 0) > (previous.lost or 0):
        add("lost writes", str(previous.lost or 0), str(current.lost))
    return found


def previous_run(rows: list[HistoryRow], index: int) -> HistoryRow | None:
    key = rows[index].key
    return next((r for r in reversed(rows[:index]) if r.key == key), None)


def all_regressions(rows: list[HistoryRow]) -> dict[str, list[Regression]]:
    """Per run id, what it regressed against the previous comparable run."""
    out: dict[str, list[Regression]] = {}
    for i, row in enumerate(rows):
        prev = previous_run(rows, i)
        if prev is not None:
            out[row.run_id] = regressions(row, prev)
    return out


def incidents(history_dir: Path) -> list[IncidentEntry]:
    path = Path(history_dir) / INCIDENTS_JSONL
    if not path.exists():
        return []
    return [IncidentEntry.model_validate(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
