"""The people's part of a game-day drill in the reports: per operator step, the page, the acknowledgement, the
action seen on the target, and the timeline from the fault to recovery against the RTO."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from rich.table import Table
from rich.text import Text

from common.messages import gettext as _
from verify.journal import Journal, RemediationRecord


@dataclass(frozen=True)
class OperatorTimes:
    """One operator step's times, in seconds after its page."""

    action: str
    acknowledge_s: float | None
    act_s: float | None
    matched: bool | None
    taken_over: bool
    by: str | None

    @classmethod
    def of(cls, step: RemediationRecord) -> OperatorTimes:
        paged = step.paged_at or 0.0
        return cls(
            action=step.action,
            acknowledge_s=None if step.acknowledged_at is None else step.acknowledged_at - paged,
            act_s=None if step.action_observed_at is None else step.action_observed_at - paged,
            matched=step.action_matches_runbook,
            taken_over=step.taken_over_at is not None,
            by=step.acknowledged_by or step.action_by,
        )


def operator_steps(journal: Journal) -> list[RemediationRecord]:
    return [r for r in journal.remediations if r.by == "operator" and r.paged_at is not None]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"+{value:,.1f} s"


def _outcome(step: RemediationRecord) -> tuple[str, str]:
    """(text, style) of how the step ended."""
    if step.taken_over_at is not None:
        return _("nobody acted in time: the harness performed the step"), "red"
    if step.action_matches_runbook:
        return _("the runbook's action"), "green"
    if step.action_matches_runbook is False:
        return _("not the runbook's action: {detail}").format(detail=step.action_detail or ""), "yellow"
    return _("no action seen"), "red"


def console_table(journal: Journal) -> Table | None:
    steps = operator_steps(journal)
    if not steps:
        return None
    table = Table(title=_("People in the loop"), title_justify="left")
    for name in (_("step"), _("paged"), _("acknowledged"), _("acted"), _("outcome")):
        table.add_column(name, overflow="fold")
    fault = journal.fault_at
    for step in steps:
        times = OperatorTimes.of(step)
        paged = "-" if fault is None or step.paged_at is None else f"+{step.paged_at - fault:,.1f} s"
        acked = _seconds(times.acknowledge_s) + (f" ({step.acknowledged_by})" if step.acknowledged_by else "")
        text, style = _outcome(step)
        table.add_row(step.action, paged, acked, _seconds(times.act_s), Text(text, style=style))
    return table


def timeline(journal: Journal) -> list[tuple[float, str]]:
    """(seconds after the fault, what happened), in time order: the drill as the team lived it."""
    fault = journal.fault_at
    if fault is None:
        return []
    events: list[tuple[float | None, str]] = [(fault, _("fault injected"))]
    events.append((journal.first_bad_at, _("first bad second (what users saw)")))
    events.append((journal.detected_at, _("alarm fired")))
    for step in operator_steps(journal):
        events.append((step.paged_at, _("paged: {action}").format(action=step.action)))
        events.append((step.acknowledged_at, _("acknowledged by {who}").format(who=step.acknowledged_by or "?")))
        events.append((step.action_observed_at, _outcome(step)[0]))
        events.append((step.taken_over_at, _("the harness took over")))
    events.append((journal.recovered_at, _("recovered (SLO held again)")))
    if journal.rto_s is not None:
        events.append((fault + journal.rto_s, _("RTO deadline")))
    return sorted(((at - fault, what) for at, what in events if at is not None), key=lambda e: e[0])


def html_section(journal: Journal) -> str:
    steps = operator_steps(journal)
    if not steps:
        return ""
    rows = "".join(f'<tr><td class="num">{t:+,.1f} s</td><td>{escape(what)}</td></tr>' for t, what in timeline(journal))
    runbooks = "".join(f"<li><code>{escape(s.runbook or s.action)}</code></li>" for s in steps)
    # The messages outside the f-strings: Babel's extractor does not look inside them (Python 3.11).
    title, paged_with = escape(_("People in the loop")), escape(_("The runbook the on-call was paged with:"))
    when_head, event_head = escape(_("time after the fault")), escape(_("event"))
    return (f"<h2>{title}</h2>"
            f'<p class="detail">{paged_with}</p><ul>{runbooks}</ul>'
            f"<table><tr><th>{when_head}</th><th>{event_head}</th></tr>{rows}</table>")
