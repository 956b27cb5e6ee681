"""`evaluate()`: the verdict of each promise a drill makes, as CheckRecords, from the journal alone.

Check names are the scenario file's (`scenarios.models.CheckName`): slo-baseline,
availability, detection, rto, slo-after-recovery, rpo, integrity. A check that
was asked for but cannot be judged (no fault injected, no ledger read back)
fails and says why: a promise that was not demonstrated is not kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from verify.drill import DrillTimings, DrillWindows, drill_timings, drill_windows, judged_rule, judged_slo
from verify.journal import CheckRecord, Journal
from verify.slo import AlarmRule, Slo
from verify.windows import WindowStats


class CheckName(StrEnum):
    """Mirrors scenarios.models.CheckName (same strings)."""

    SLO_BASELINE = "slo-baseline"
    AVAILABILITY = "availability"
    DETECTION = "detection"
    RTO = "rto"
    SLO_AFTER_RECOVERY = "slo-after-recovery"
    RPO = "rpo"
    INTEGRITY = "integrity"


def _figures(w: WindowStats) -> str:
    return (
        f"{w.seconds} s, {w.requests:,} requests, {w.achieved_rps:,.0f} RPS, p90 {w.p90_ms:,.0f} ms, "
        f"p95 {w.p95_ms:,.0f} ms, p99 {w.p99_ms:,.0f} ms, errors {w.error_rate:.2%}, "
        f"available {w.availability:.2%}"
    )


def _window_check(name: str, window: WindowStats | None, slo: Slo, missing: str) -> CheckRecord:
    if window is None:
        return CheckRecord(name=name, passed=False, limit=slo.p95_ms, unit="ms", detail=missing)
    broken = window.violations(slo, availability=False)
    detail = _figures(window) + (f"; broken: {'; '.join(broken)}" if broken else "")
    return CheckRecord(name=name, passed=not broken, value=round(window.p95_ms, 3), limit=slo.p95_ms, unit="ms", detail=detail)


def _availability(window: WindowStats, slo: Slo) -> CheckRecord:
    held = window.seconds > 0 and window.availability >= slo.availability
    detail = f"SLO held in {window.healthy_seconds} of {window.seconds} s"
    if window.zero_traffic_seconds:
        detail += f" ({window.zero_traffic_seconds} s without any traffic)"
    return CheckRecord(
        name=CheckName.AVAILABILITY, passed=held, value=round(window.availability, 6),
        limit=slo.availability, unit="ratio", detail=detail,
    )


def _detection(t: DrillTimings) -> CheckRecord:
    name = CheckName.DETECTION
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, detail="no fault was injected")
    if t.detection is None:
        return CheckRecord(name=name, passed=False, unit="s", detail=t.not_detected)
    detail = f"alarm fired {t.detection.detection_s:.1f} s after the fault: {t.detection.reason}"
    if t.detection.alarming_before_fault:
        detail = "the alarm was already firing before the fault (baseline not steady); " + detail
    return CheckRecord(
        name=name, passed=not t.detection.alarming_before_fault,
        value=round(t.detection.detection_s, 3), unit="s", detail=detail,
    )


def _rto(t: DrillTimings, rto_s: float | None) -> CheckRecord:
    name = CheckName.RTO
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, limit=rto_s, unit="s", detail="no fault was injected")
    if t.recovery is None:
        return CheckRecord(name=name, passed=False, limit=rto_s, unit="s", detail=t.not_recovered)
    took = t.recovery.recovery_s
    within = rto_s is None or took <= rto_s
    limit_text = "no RTO set" if rto_s is None else f"RTO {rto_s:,.0f} s"
    return CheckRecord(
        name=name, passed=within, value=round(took, 3), limit=rto_s, unit="s",
        detail=f"recovered {took:,.1f} s after the fault ({limit_text})",
    )


def _rpo(journal: Journal) -> CheckRecord:
    limit = journal.rpo_s if journal.rpo_s is not None else 0.0
    ledger = journal.ledger
    if ledger is None:
        return CheckRecord(name=CheckName.RPO, passed=False, limit=limit, unit="s", detail="no write ledger was read back")
    counts = f"{ledger.acknowledged:,} acknowledged, {ledger.lost:,} lost, {ledger.unknown:,} unknown outcome"
    if ledger.lost == 0:
        return CheckRecord(name=CheckName.RPO, passed=True, value=0.0, limit=limit, unit="s", detail=counts)
    if ledger.rpo_s is None:
        return CheckRecord(name=CheckName.RPO, passed=False, limit=limit, unit="s", detail=counts + "; age unknown (no fault time)")
    within = limit > 0 and ledger.rpo_s <= limit
    detail = f"{counts}; oldest lost write {ledger.rpo_s:,.1f} s old at the fault"
    return CheckRecord(name=CheckName.RPO, passed=within, value=round(ledger.rpo_s, 3), limit=limit, unit="s", detail=detail)


def _integrity(journal: Journal) -> CheckRecord:
    ledger = journal.ledger
    if ledger is None:
        return CheckRecord(name=CheckName.INTEGRITY, passed=False, limit=0, detail="no write ledger was read back")
    bad = ledger.corrupted + ledger.unexpected
    detail = f"{ledger.corrupted:,} corrupted, {ledger.unexpected:,} unexpected (lost writes are judged by the RPO: {ledger.lost:,})"
    if ledger.corrupted_ids:
        detail += f"; e.g. {', '.join(ledger.corrupted_ids[:3])}"
    return CheckRecord(name=CheckName.INTEGRITY, passed=bad == 0, value=bad, limit=0, unit="items", detail=detail)


def default_checks(journal: Journal) -> list[CheckName]:
    names = [CheckName.SLO_BASELINE]
    if journal.fault_at is not None or journal.faults:
        names += [CheckName.DETECTION, CheckName.RTO, CheckName.SLO_AFTER_RECOVERY]
    if journal.ledger is not None or journal.rpo_s is not None:
        names += [CheckName.RPO, CheckName.INTEGRITY]
    return names


def evaluate(
    journal: Journal,
    slo: Slo | None = None,
    rule: AlarmRule | None = None,
    checks: Iterable[str] | None = None,
    *,
    timings: DrillTimings | None = None,
    windows: DrillWindows | None = None,
) -> list[CheckRecord]:
    """Judge the requested checks (default: those that apply), in the order asked.

    `rule` is the detection rule with its period already scaled (DrillPlan.detection);
    `slo`/`rule` default to the journal's own, then to the manual's.
    """
    slo = judged_slo(journal, slo)
    rule = judged_rule(journal, rule)
    names = [CheckName(n) for n in (checks if checks is not None else default_checks(journal))]
    timings = timings or drill_timings(journal, slo, rule)
    windows = windows or drill_windows(journal, slo, timings)
    out: list[CheckRecord] = []
    for name in names:
        if name is CheckName.SLO_BASELINE:
            out.append(_window_check(name, windows.baseline, slo, ""))
        elif name is CheckName.AVAILABILITY:
            out.append(_availability(windows.whole, slo))
        elif name is CheckName.DETECTION:
            out.append(_detection(timings))
        elif name is CheckName.RTO:
            out.append(_rto(timings, journal.rto_s))
        elif name is CheckName.SLO_AFTER_RECOVERY:
            missing = "no fault was injected" if timings.fault_at is None else f"no after-recovery window: {timings.not_recovered}"
            out.append(_window_check(name, windows.after_recovery, slo, missing))
        elif name is CheckName.RPO:
            out.append(_rpo(journal))
        elif name is CheckName.INTEGRITY:
            out.append(_integrity(journal))
    return out
