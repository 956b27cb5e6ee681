"""The console summary of a drill (rich): verdict, key timings, checks, windows, faults, ledger."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from verify.journal import Journal, RunStatus, Verdict
from verify.report_data import ReportData, report_data
from verify.report_gameday import console_table

VERDICTS = {
    Verdict.PASSED: Text("PASS", style="bold green"),
    Verdict.FAILED: Text("FAIL", style="bold red"),
    Verdict.INCONCLUSIVE: Text("INCONCLUSIVE", style="bold yellow"),
}


def _s(value: float | None, fmt: str = "{:,.1f} s") -> str:
    return "-" if value is None else fmt.format(value)


def _timings(data: ReportData) -> Table:
    j = data.journal
    table = Table(title="Key timings", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    if data.timings.fault_at is None:
        table.add_row("fault", "none injected")
    else:
        first_bad = "-" if data.first_bad_s is None else f"+{data.first_bad_s:,.1f} s  ({data.timings.first_bad_reason})"
        table.add_row("first bad second", first_bad)
        alarm = f"+{data.detection_s:,.1f} s  ({data.detected_by})" if data.detection_s is not None else (
            f"never  ({data.timings.not_detected})")
        table.add_row("alarm (paged)", alarm)
        table.add_row("remediated", "-" if data.remediated_at is None else f"+{data.remediated_at - data.timings.fault_at:,.1f} s")
        recovery = _s(data.recovery_s) + f"  (RTO {_s(j.rto_s, '{:,.0f} s')})"
        if data.recovered_at is None:
            recovery = f"never  ({data.timings.not_recovered})"
        table.add_row("recovery time", recovery)
    if j.ledger is not None:
        table.add_row("data loss (RPO)", f"{_s(j.ledger.rpo_s)}  (limit {_s(j.rpo_s, '{:,.0f} s')})")
    return table


def _checks(journal: Journal) -> Table:
    table = Table(title="Checks", title_justify="left")
    for name, justify in (("check", "left"), ("verdict", "left"), ("value", "right"), ("limit", "right"), ("detail", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in journal.checks:
        verdict = VERDICTS[c.verdict]
        value = "-" if c.value is None else (f"{c.value:,.3g}" if isinstance(c.value, float) else str(c.value))
        limit = "-" if c.limit is None else (f"{c.limit:,.3g}" if isinstance(c.limit, float) else str(c.limit))
        table.add_row(c.name, verdict, f"{value} {c.unit}".strip() if c.value is not None else value,
                      f"{limit} {c.unit}".strip() if c.limit is not None else limit, c.detail)
    return table


def _windows(data: ReportData) -> Table:
    table = Table(title="SLO by window", title_justify="left")
    table.add_column("window")
    for name in ("s", "requests", "RPS", "p90 ms", "p95 ms", "p99 ms", "errors", "avail."):
        table.add_column(name, justify="right")
    for w in data.windows.all():
        table.add_row(w.name, f"{w.seconds:,}", f"{w.requests:,}", f"{w.achieved_rps:,.0f}", f"{w.p90_ms:,.0f}",
                      f"{w.p95_ms:,.0f}", f"{w.p99_ms:,.0f}", f"{w.error_rate:.2%}", f"{w.availability:.1%}")
    return table


def _actions(data: ReportData) -> Table:
    table = Table(title="Injected and reverted", title_justify="left")
    for name in ("kind", "action", "parameters", "at", "until", "state"):
        table.add_column(name)

    def rel(ts: float | None) -> str:
        r = data.rel(ts)
        return "-" if r is None else f"{r:+,.1f} s"

    for f in data.journal.faults:
        state = Text(f.revert_error, style="red") if f.revert_error else (
            Text("reverted", style="green") if f.reverted_at else Text("NOT REVERTED", style="bold red"))
        params = ", ".join(f"{k}={v}" for k, v in f.parameters.items())
        table.add_row("fault", f.action, params, rel(f.injected_at), rel(f.reverted_at), state)
    for r in data.journal.remediations:
        params = ", ".join(f"{k}={v}" for k, v in r.parameters.items())
        state = Text(r.error, style="red") if r.error else Text("ok", style="green")
        if not r.error and r.shortfalls:  # what the step could not bring back
            state = Text("ok, but: " + "; ".join(r.shortfalls), style="yellow")
        table.add_row("remediation", r.action, params, rel(r.started_at), rel(r.ended_at), state)
    return table


def render_console(journal: Journal, console: Console | None = None) -> None:
    console = console or Console()
    data = report_data(journal)
    style = "bold green" if data.verdict_ok else ("bold yellow" if journal.status is RunStatus.INCONCLUSIVE else "bold red")
    header = Text.assemble((f"{journal.scenario} ", "bold"), (data.verdict, style),
                           f"   run {journal.run_id} · profile {journal.profile} · target {journal.target}")
    console.print(header)
    if journal.reason:
        console.print(Text(journal.reason, style="yellow"))
    if journal.expected_to_fail:
        console.print(Text("expected to fail (negative control)", style="yellow"))
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
        console.print(
            f"[bold]Ledger[/bold]: {led.writes:,} writes, {led.acknowledged:,} acknowledged, {led.unknown:,} unknown "
            f"outcome, [{'red' if led.lost else 'green'}]{led.lost:,} lost[/], "
            f"[{'red' if led.corrupted else 'green'}]{led.corrupted:,} corrupted[/], {led.unexpected:,} unexpected"
        )
