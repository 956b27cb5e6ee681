"""A sample drill journal built from a synthetic series, to look at the reports without running a drill.

`hanbit-drill report --demo` and benchmarks/report_screenshot.py use it. Its
timings, windows, checks and ledger summary are computed by the same checks
that judge real drills; only the series and the ledger are invented.
"""

from __future__ import annotations

import time

from loadtests.records import LedgerRecord, WriteOp, WriteOutcome
from verify.checks import evaluate
from verify.drill import drill_timings
from verify.integrity import Observation, ObservedItem, ReadStatus, check_integrity
from verify.journal import FaultRecord, Journal, PhaseName, PhaseRecord, RemediationRecord, RunStatus
from verify.slo import AlarmRule, Slo
from verify.synthetic import Segment, SeriesSpec, build_series

SCALE = 0.05  # a smoke-profile drill: the manual's 30 min RTO becomes 90 s


def _ledger(t0: int, backup_at: float, repointed_at: float) -> tuple[list[LedgerRecord], Observation]:
    """One create per 2 s per user; writes after the backup and before the repoint are gone after the restore."""
    records: list[LedgerRecord] = []
    items: list[ObservedItem] = []
    users = [f"drill-user-{i:02d}" for i in range(4)]
    for n, sent in enumerate(range(t0 + 1, t0 + 118, 2)):
        user = users[n % len(users)]
        item_id = f"todo-{n:04d}"
        outcome = WriteOutcome.UNKNOWN if n % 23 == 0 else WriteOutcome.ACKNOWLEDGED
        records.append(LedgerRecord(op=WriteOp.CREATE, id=item_id, user=user, sent_at=sent + 0.2,
                                    completed_at=sent + 0.25, outcome=outcome, status=201, title=f"task {n}"))
        kept = not (backup_at <= sent < repointed_at)
        if kept and outcome is WriteOutcome.ACKNOWLEDGED:
            items.append(ObservedItem(user=user, id=item_id, status=ReadStatus.PRESENT, title=f"task {n}", done=False))
    return records, Observation(users=users, items=items)


def demo_journal(t0: int | None = None) -> Journal:
    t0 = t0 if t0 is not None else int(time.time()) - 600
    fault_at, backup_at = t0 + 40.3, t0 + 31.0
    restore_start, repointed_at = t0 + 47.8, t0 + 58.6
    series = build_series(SeriesSpec(
        t0, 120, rps=1_200, low_ms=12, high_ms=140, jitter=0.12,
        segments=[
            Segment(40, 48, error_rate=0.31, low_ms=40, high_ms=900, failure_kind="http_503"),
            Segment(48, 59, error_rate=0.12, low_ms=60, high_ms=1_400, rps_factor=0.8, failure_kind="http_503"),
            Segment(59, 63, low_ms=30, high_ms=420),
        ],
    ))
    slo, alarm = Slo(), AlarmRule(period_s=300 * SCALE)
    journal = Journal(
        run_id=f"demo-{t0}", scenario="table-corruption", profile="smoke", target="local",
        target_kind="bundled", description="DynamoDB table corruption: restore from backup and repoint",
        status=RunStatus.RUNNING, started_at=t0 - 5.0, ended_at=t0 + 125.0, time_scale=SCALE,
        rto_s=1_800 * SCALE, rpo_s=3_600 * SCALE, sustained_s=60 * SCALE, slo=slo, alarm=alarm,
        phases=[
            PhaseRecord(name=PhaseName.LOAD, started_at=t0 - 1.0, ended_at=t0 + 120.0),
            PhaseRecord(name=PhaseName.BASELINE, started_at=t0 + 5.0, ended_at=fault_at),
            PhaseRecord(name=PhaseName.INJECT, started_at=fault_at - 0.2, ended_at=fault_at),
        ],
        faults=[FaultRecord(
            id="table.corrupt", action="table.corrupt", parameters={"percentage": 30}, provider="local",
            target="local", intended_at=fault_at - 0.2, injected_at=fault_at, reverted_at=t0 + 121.0,
        )],
        remediations=[
            RemediationRecord(action="table.backup", started_at=backup_at, ended_at=backup_at + 0.4,
                              detail={"backup": "todos-backup-demo"}),
            RemediationRecord(action="table.restore", parameters={"target_table_name": "todos-restored"},
                              started_at=restore_start, ended_at=repointed_at),
        ],
        fault_at=fault_at, remediated_at=repointed_at, series=series,
    )
    records, observed = _ledger(t0, backup_at, repointed_at)
    journal.ledger = check_integrity(records, observed, fault_at)
    timings = drill_timings(journal)
    journal.detected_at, journal.detection_s = timings.detected_at, timings.detection_s
    journal.recovered_at, journal.recovery_s = timings.recovered_at, timings.recovery_s
    journal.checks = evaluate(journal)
    journal.status = RunStatus.PASSED if all(c.passed for c in journal.checks) else RunStatus.FAILED
    return journal
