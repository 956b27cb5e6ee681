"""`evaluate()`: the verdict of each check asked for, as CheckRecords, from the journal alone.

A verdict on latency is only as good as the load generator that measured it: a saturated generator
sends late (the open model times requests from their intended send, so its own delay reads as the
service's latency) and sends less than planned. A check that judges latency over a window where the
generator was saturated in more than `SATURATED_SHARE_LIMIT` of the seconds is inconclusive, whatever
its figures said.
"""

from __future__ import annotations

from collections.abc import Iterable

from common.messages import gettext as _
from verify.checks.base import Check, CheckContext
from verify.checks.registry import CHECKS, check_named
from verify.drill import (
    DrillTimings,
    DrillWindows,
    drill_timings,
    drill_windows,
    judged_rule,
    judged_slo,
    window_title,
)
from verify.journal import CheckRecord, Journal, Verdict
from verify.slo import AlarmRule, Slo

SATURATED_SHARE_LIMIT = 0.05  # more than 5 % of a window's seconds with a saturated generator: inconclusive


def _unless_saturated(check: Check, context: CheckContext, record: CheckRecord) -> CheckRecord:
    window = check.latency_window(context.windows) if check.latency_window else None
    if window is None or window.seconds == 0:
        return record
    share = window.saturated_seconds / window.seconds
    if share <= SATURATED_SHARE_LIMIT:
        return record
    why = _(
        "the load generator was saturated in {saturated} of {seconds} s of the {window} window ({share:.0%} > "
        "{limit:.0%}): its latencies are the generator's as much as the service's"
    ).format(saturated=window.saturated_seconds, seconds=window.seconds, window=window_title(window.name),
             share=share, limit=SATURATED_SHARE_LIMIT)
    detail = _("{why}; measured: {detail}").format(why=why, detail=record.detail)
    return record.model_copy(update={"verdict": Verdict.INCONCLUSIVE, "passed": False, "detail": detail})


def _applies(check: Check, journal: Journal) -> bool:
    """Judged by default: a check that is, when the journal has what it needs (a drill that set an
    RPO promised a ledger, so the ledger checks apply and fail without one)."""
    needs = check.needs
    if not check.by_default:
        return False
    if needs.fault and journal.fault_at is None and not journal.faults:
        return False
    return not needs.ledger or journal.ledger is not None or journal.rpo_s is not None


def default_checks(journal: Journal) -> list[str]:
    return [name for name, check in CHECKS.items() if _applies(check, journal)]


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
    judged = [check_named(n) for n in (checks if checks is not None else default_checks(journal))]
    timings = timings or drill_timings(journal, slo, rule)
    windows = windows or drill_windows(journal, slo, timings)
    context = CheckContext(journal=journal, slo=slo, rule=rule, timings=timings, windows=windows)
    return [_unless_saturated(check, context, check.judge(context)) for check in judged]
