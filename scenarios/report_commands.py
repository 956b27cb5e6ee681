"""`hanbit-drill history` (trends and regressions) and `hanbit-drill report` (re-render a run's reports)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from common.errors import CheckFailedError, InvalidInputError
from common.messages import gettext as _
from scenarios.cli_options import absolute_path, add_report_dir, history_dir
from verify.history import HistoryRow, Regression, all_regressions, load_history, previous_run
from verify.journal import Journal


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    history = subparsers.add_parser("history", help="drill history: trends and regressions against the previous run")
    add_report_dir(history, aliases=())
    # The history directory itself (REPORT_DIR/history), as spelled before the runs directory was shared.
    history.add_argument("--dir", type=absolute_path, help=argparse.SUPPRESS)
    history.add_argument("--scenario", help="only this scenario")
    history.add_argument("--target", help="only this target")
    history.add_argument("--limit", type=int, default=20, help="show the last N runs (default: %(default)s)")
    history.add_argument("--fail-on-regression", action="store_true",
                         help="exit 1 if the latest run of a scenario regressed against the one before")
    history.set_defaults(func=run_history)
    if "report" not in subparsers.choices:  # the engine's CLI may own a richer `report`
        report = subparsers.add_parser("report", help="render a drill's reports from its journal.json alone")
        report.add_argument("journal", type=absolute_path, nargs="?", help="journal.json or the run directory holding it")
        report.add_argument("--html", type=absolute_path, help="write report.html here")
        report.add_argument("--junit", type=absolute_path, help="write junit.xml here")
        report.add_argument("--demo", action="store_true", help="use a sample drill built from a synthetic series")
        report.set_defaults(func=run_report)


def _trend(prev: float | None, cur: float | None) -> str:
    if prev is None or cur is None or prev == cur:
        return ""
    return " ▲" if cur > prev else " ▼"  # up is worse for every measure shown


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _row_cells(row: HistoryRow, prev: HistoryRow | None, found: list[Regression]) -> list[str | Text]:
    verdict_style = {"passed": "green", "inconclusive": "yellow"}.get(row.verdict, "red")
    recovery = _num(row.recovery_s, "{:,.1f} s") + _trend(prev and prev.recovery_s, row.recovery_s)
    if row.rto_s is not None:
        recovery += f" / {row.rto_s:,.0f} s"
    flags = Text("; ".join(f"{r.measure} {r.previous} → {r.current}" for r in found), style="bold red")
    return [
        row.date.replace("T", " ").removesuffix("Z"), row.scenario, row.target, row.profile,
        Text(row.verdict + (" (xfail)" if row.expected_to_fail else ""), style=verdict_style),
        # The first bad second, then the alarm (when the on-call was paged).
        _num(row.first_bad_s, "+{:,.1f}") + " / " + _num(row.detection_s, "+{:,.1f} s")
        + _trend(prev and prev.detection_s, row.detection_s),
        recovery,
        _num(row.rpo_s, "{:,.1f} s") + (f" ({row.lost} lost)" if row.lost else ""),
        _num(row.p95_ms, "{:,.0f} ms") + _trend(prev and prev.p95_ms, row.p95_ms),
        flags,
    ]


def run_history(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise InvalidInputError("--limit must be at least 1")
    where = args.dir or history_dir(args.report_dir)
    rows = [r for r in load_history(where)
            if (args.scenario is None or r.scenario == args.scenario) and (args.target is None or r.target == args.target)]
    console = Console()
    if not rows:
        console.print(f"no drill runs recorded in {where}" + (f" for {args.scenario}" if args.scenario else ""))
        return 0
    found = all_regressions(rows)
    table = Table(title=f"Drill history ({where})", title_justify="left")
    for name in ("date", "scenario", "target", "profile", "verdict", "bad / alarm", "recovery / RTO", "RPO", "p95",
                 "regression"):
        table.add_column(name, overflow="fold")
    start = max(0, len(rows) - args.limit)
    for i in range(start, len(rows)):
        table.add_row(*_row_cells(rows[i], previous_run(rows, i), found.get(rows[i].run_id, [])))
    console.print(table)
    latest = {r.key: r for r in rows}  # the last row per scenario/target/profile
    regressed = [r for r in latest.values() if found.get(r.run_id)]
    for row in regressed:
        items = ", ".join(f"{r.measure} {r.previous} → {r.current}" for r in found[row.run_id])
        console.print(Text(f"REGRESSION {row.scenario} on {row.target} ({row.profile}), run {row.run_id}: {items}", style="bold red"))
    if regressed and args.fail_on_regression:
        raise CheckFailedError(f"{len(regressed)} scenario(s) regressed against their previous run")
    return 0


def _load_journal(path: Path) -> Journal:
    path = path / "journal.json" if path.is_dir() else path
    if not path.exists():
        raise InvalidInputError(f"{path}: no such journal")
    try:
        return Journal.load(path)  # with its series.jsonl
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "journal"
        raise InvalidInputError(f"{path}: {where}: {problem['msg']}") from None


def run_report(args: argparse.Namespace) -> int:
    from verify.junit import write_junit
    from verify.report_console import render_console
    from verify.report_html import write_html

    if args.demo:
        from verify.demo import demo_journal

        journal = demo_journal()
    elif args.journal is None:
        raise InvalidInputError("give a journal.json (or its run directory), or --demo")
    else:
        journal = _load_journal(args.journal)
    render_console(journal)
    if args.html:
        print(_("wrote {path}").format(path=write_html(journal, args.html)))
    if args.junit:
        print(_("wrote {path}").format(path=write_junit([journal], args.junit)))
    return 0
