"""rto: recovery (the SLO held for `sustained`) began within the RTO of the first fault."""

from __future__ import annotations

from common.messages import gettext as _
from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord


def _judge(ctx: CheckContext) -> CheckRecord:
    name, t, rto_s = RTO.name, ctx.timings, ctx.journal.rto_s
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, limit=rto_s, unit="s", detail=_("no fault was injected"))
    if t.recovery is None:
        return CheckRecord(name=name, passed=False, limit=rto_s, unit="s", detail=t.not_recovered)
    took = t.recovery.recovery_s
    within = rto_s is None or took <= rto_s
    limit_text = _("no RTO set") if rto_s is None else _("RTO {seconds:,.0f} s").format(seconds=rto_s)
    detail = _("recovered {seconds:,.1f} s after the fault ({limit})").format(seconds=took, limit=limit_text)
    # Game day: the system recovered because the harness took over, not because the team acted.
    taken_over = [r for r in ctx.journal.remediations if r.taken_over_at is not None]
    if taken_over:
        step = taken_over[0]
        waited = step.taken_over_at - (step.paged_at or step.taken_over_at)
        return CheckRecord(
            name=name, passed=False, value=round(took, 3), limit=rto_s, unit="s",
            detail=_("no operator action within {seconds:,.0f} s of the page ({action}): the harness performed the "
                     "runbook step itself; {detail}").format(seconds=waited, action=step.action, detail=detail),
        )
    return CheckRecord(name=name, passed=within, value=round(took, 3), limit=rto_s, unit="s", detail=detail)


RTO = Check(
    "rto", "recovered (SLO held for `sustained`) within the RTO of the first fault", _judge,
    Needs(fault=True, objective="rto"),
)
