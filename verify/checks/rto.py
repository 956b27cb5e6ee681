"""rto: recovery (the SLO held for `sustained`) began within the RTO of the first fault."""

from __future__ import annotations

from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord


def _judge(ctx: CheckContext) -> CheckRecord:
    name, t, rto_s = RTO.name, ctx.timings, ctx.journal.rto_s
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


RTO = Check(
    "rto", "recovered (SLO held for `sustained`) within the RTO of the first fault", _judge,
    Needs(fault=True, objective="rto"),
)
