"""The write ledger read back after the load: rpo (lost writes) and integrity (corrupted or unexpected)."""

from __future__ import annotations

from common.messages import gettext as _
from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord


def _not_read_back() -> str:
    return _("no write ledger was read back")


def _rpo(ctx: CheckContext) -> CheckRecord:
    name, journal = RPO.name, ctx.journal
    limit = journal.rpo_s if journal.rpo_s is not None else 0.0
    ledger = journal.ledger
    if ledger is None:
        return CheckRecord(name=name, passed=False, limit=limit, unit="s", detail=_not_read_back())
    counts = _("{acknowledged:,} acknowledged, {lost:,} lost, {unknown:,} unknown outcome").format(
        acknowledged=ledger.acknowledged, lost=ledger.lost, unknown=ledger.unknown)
    if ledger.lost == 0:
        return CheckRecord(name=name, passed=True, value=0.0, limit=limit, unit="s", detail=counts)
    if ledger.rpo_s is None:
        return CheckRecord(name=name, passed=False, limit=limit, unit="s",
                           detail=counts + _("; age unknown (no fault time)"))
    within = limit > 0 and ledger.rpo_s <= limit
    detail = _("{counts}; oldest lost write {seconds:,.1f} s old at the fault").format(
        counts=counts, seconds=ledger.rpo_s)
    return CheckRecord(name=name, passed=within, value=round(ledger.rpo_s, 3), limit=limit, unit="s", detail=detail)


def _integrity(ctx: CheckContext) -> CheckRecord:
    name, ledger = INTEGRITY.name, ctx.journal.ledger
    if ledger is None:
        return CheckRecord(name=name, passed=False, limit=0, detail=_not_read_back())
    bad = ledger.corrupted + ledger.unexpected
    detail = _(
        "{corrupted:,} corrupted, {unexpected:,} unexpected (lost writes are judged by the RPO: {lost:,})"
    ).format(corrupted=ledger.corrupted, unexpected=ledger.unexpected, lost=ledger.lost)
    if ledger.corrupted_ids:
        detail += "; " + _("e.g. {ids}").format(ids=", ".join(ledger.corrupted_ids[:3]))
    return CheckRecord(name=name, passed=bad == 0, value=bad, limit=0, unit="items", detail=detail)


RPO = Check(
    "rpo", "no acknowledged write older than the RPO was lost (write ledger)", _rpo,
    Needs(objective="rpo", ledger=True),
)
INTEGRITY = Check("integrity", "every acknowledged write reads back intact at the end", _integrity, Needs(ledger=True))
