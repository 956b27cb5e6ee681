"""The console summary of a drill (rich): verdict, key timings, checks, windows, faults, ledger."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from common.messages import gettext as _
from verify.drill import window_title
from verify.journal import Journal, RunStatus, Verdict
from verify.report_data import ReportData, report_data, unit_title
from verify.report_gameday import console_table


def _verdict(verdict: Verdict) -> Text:  # built when shown: the language is chosen at run time
    return {
        Verdict.PASSED: Text(_("PASS"), style="bold green"),
        Verdict.FAILED: Text(_("FAIL"), style="bold red"),
        Verdict.INCONCLUSIVE: Text(_("INCONCLUSIVE"), style="bold yellow"),
    }[verdict]


def _s(value: float | None, fmt: str = "{:,.1f} s") -> str:
    return "-" if value is None else fmt.format(value)


def _timings(data: ReportData) -> Table:
    j = data.journal
    table = Table(title=_("Key timings"), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    if data.timings.fault_at is None:
        table.add_row(_("fault"), _("none injected"))
    else:
        first_bad = "-" if data.first_bad_s is None else f"+{data.first_bad_s:,.1f} s  ({data.timings.first_bad_reason})"
        table.add_row(_("first bad second"), first_bad)
        alarm = f"+{data.detection_s:,.1f} s  ({data.detected_by_text})" if data.detection_s is not None else (
            _("never  ({why})").format(why=data.timings.not_detected))
        table.add_row(_("alarm (paged)"), alarm)
        table.add_row(_("remediated"), "-" if data.remediated_at is None else f"+{data.remediated_at - data.timings.fault_at:,.1f} s")
        recovery = _s(data.recovery_s) + f"  (RTO {_s(j.rto_s, '{:,.0f} s')})"
        if data.recovered_at is None:
            recovery = _("never  ({why})").format(why=data.timings.not_recovered)
        table.add_row(_("recovery time"), recovery)
    if j.ledger is not None:
        table.add_row(_("data loss (RPO)"), _("{value}  (limit {limit})").format(
            value=_s(j.ledger.rpo_s), limit=_s(j.rpo_s, "{:,.0f} s")))
    return table


def _checks(journal: Journal) -> Table:
    table = Table(title=_("Checks"), title_justify="left")
    for name, justify in ((_("check"), "left"), (_("verdict"), "left"), (_("value"), "right"), (_("limit"), "right"),
                          (_("detail"), "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in journal.checks:
        verdict, unit = _verdict(c.verdict), unit_title(c.unit)
        value = "-" if c.value is None else (f"{c.value:,.3g}" if isinstance(c.value, float) else str(c.value))
        limit = "-" if c.limit is None else (f"{c.limit:,.3g}" if isinstance(c.limit, float) else str(c.limit))
        table.add_row(c.name, verdict, f"{value} {unit}".strip() if c.value is not None else value,
                      f"{limit} {unit}".strip() if c.limit is not None else limit, c.detail)
    return table


def _windows(data: ReportData) -> Table:
    table = Table(title=_("SLO by window"), title_justify="left")
    table.add_column(_("window"))
    for name in ("s", _("requests"), "RPS", "p90 ms", "p95 ms", "p99 ms", _("errors"), _("avail.")):
        table.add_column(name, justify="right")
    for w in data.windows.all():
        table.add_row(window_title(w.name), f"{w.seconds:,}", f"{w.requests:,}", f"{w.achieved_rps:,.0f}", f"{w.p90_ms:,.0f}",
                      f"{w.p95_ms:,.0f}", f"{w.p99_ms:,.0f}", f"{w.error_rate:.2%}", f"{w.availability:.1%}")
    return table


def _actions(data: ReportData) -> Table:
    table = Table(title=_("Injected and reverted"), title_justify="left")
    for name in (_("kind"), _("action"), _("parameters"), _("at"), _("until"), _("state")):
        table.add_column(name)

    def rel(ts: float | None) -> str:
        r = data.rel(ts)
        return "-" if r is None else f"{r:+,.1f} s"

    for f in data.journal.faults:
        state = Text(f.revert_error, style="red") if f.revert_error else (
            Text(_("reverted"), style="green") if f.reverted_at else Text(_("NOT REVERTED"), style="bold red"))
        params = ", ".join(f"{k}={v}" for k, v in f.parameters.items())
        table.add_row(_("fault"), f.action, params, rel(f.injected_at), rel(f.reverted_at), state)
    for r in data.journal.remediations:
        params = ", ".join(f"{k}={v}" for k, v in r.parameters.items())
        state = Text(r.error, style="red") if r.error else Text(_("ok"), style="green")
        if not r.error and r.shortfalls:  # what the step could not bring back
            state = Text(_("ok, but: {shortfalls}").format(shortfalls="; ".join(r.shortfalls)), style="yellow")
        table.add_row(_("remediation"), r.action, params, rel(r.started_at), rel(r.ended_at), state)
    return table


def render_console(journal: Journal, console: Console | None = None) -> None:
    console = console or Console()
    data = report_data(journal)
    style = "bold green" if data.verdict_ok else ("bold yellow" if journal.status is RunStatus.INCONCLUSIVE else "bold red")
    header = Text.assemble((f"{journal.scenario} ", "bold"), (data.verdict_text, style),
                           "   " + _("run {run_id} · profile {profile} · target {target}").format(
                               run_id=journal.run_id, profile=journal.profile, target=journal.target))
    console.print(header)
    if journal.reason:
        console.print(Text(journal.reason, style="yellow"))
    if journal.expected_to_fail:
        console.print(Text(_("expected to fail (negative control)"), style="yellow"))
    console.print(_timings(data))
    if journal.checks:
        console.print(_checks(journal))
    console.print(_windows(data))
    if journal.faults or journal.remediations:
        console.print(_actions(data))
    if (people := console_table(journal)) is not None:
        console.print(people)
    led = journal.ledger
    if led is not None:
        lost = f"[{'red' if led.lost else 'green'}]" + _("{count:,} lost").format(count=led.lost) + "[/]"
        corrupted = (f"[{'red' if led.corrupted else 'green'}]" + _("{count:,} corrupted").format(count=led.corrupted)
                     + "[/]")
        console.print("[bold]" + _("Ledger") + "[/bold]: " + _(
            "{writes:,} writes, {acknowledged:,} acknowledged, {unknown:,} unknown outcome, {lost}, {corrupted}, "
            "{unexpected:,} unexpected"
        ).format(writes=led.writes, acknowledged=led.acknowledged, unknown=led.unknown, lost=lost, corrupted=corrupted,
                 unexpected=led.unexpected))
