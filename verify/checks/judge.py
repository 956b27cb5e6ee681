"""`evaluate()`: the verdict of each check asked for, as CheckRecords, from the journal alone."""

from __future__ import annotations

from collections.abc import Iterable

from verify.checks.base import Check, CheckContext
from verify.checks.registry import CHECKS, check_named
from verify.drill import DrillTimings, DrillWindows, drill_timings, drill_windows, judged_rule, judged_slo
from verify.journal import CheckRecord, Journal
from verify.slo import AlarmRule, Slo


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
    return [check.judge(context) for check in judged]
