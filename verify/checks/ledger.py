"""The write ledger read back after the load: rpo (lost writes) and integrity (corrupted or unexpected)."""

from __future__ import annotations

from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord

NOT_READ_BACK = "no write ledger was read back"


def _rpo(ctx: CheckContext) -> CheckRecord:
    name, journal = RPO.name, ctx.journal
    limit = journal.rpo_s if journal.rpo_s is not None else 0.0
    ledger = journal.ledger
    if ledger is None:
        return CheckRecord(name=name, passed=False, limit=limit, unit="s", detail=NOT_READ_BACK)
    counts = f"{ledger.acknowledged:,} acknowledged, {ledger.lost:,} lost, {ledger.unknown:,} unknown outcome"
    if ledger.lost == 0:
        return CheckRecord(name=name, passed=True, value=0.0, limit=limit, unit="s", detail=counts)
    if ledger.rpo_s is None:
        return CheckRecord(name=name, passed=False, limit=limit, unit="s", detail=counts + "; age unknown (no fault time)")
    within = limit > 0 and ledger.rpo_s <= limit
    detail = f"{counts}; oldest lost write {ledger.rpo_s:,.1f} s old at the fault"
    return CheckRecord(name=name, passed=within, value=round(ledger.rpo_s, 3), limit=limit, unit="s", detail=detail)


def _integrity(ctx: CheckContext) -> CheckRecord:
    name, ledger = INTEGRITY.name, ctx.journal.ledger
    if ledger is None:
        return CheckRecord(name=name, passed=False, limit=0, detail=NOT_READ_BACK)
    bad = ledger.corrupted + ledger.unexpected
    detail = f"{ledger.corrupted:,} corrupted, {ledger.unexpected:,} unexpected (lost writes are judged by the RPO: {ledger.lost:,})"
    if ledger.corrupted_ids:
        detail += f"; e.g. {', '.join(ledger.corrupted_ids[:3])}"
    return CheckRecord(name=name, passed=bad == 0, value=bad, limit=0, unit="items", detail=detail)


RPO = Check(
    "rpo", "no acknowledged write older than the RPO was lost (write ledger)", _rpo,
    Needs(objective="rpo", ledger=True),
)
INTEGRITY = Check("integrity", "every acknowledged write reads back intact at the end", _integrity, Needs(ledger=True))
