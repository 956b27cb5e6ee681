"""`hanbit-drill ack` (acknowledge a game-day page) and `hanbit-drill bundled ...` (the runbook's actions on
the bundled service, spelled like the AWS CLI commands of the manual, for operators rehearsing on it)."""

from __future__ import annotations

import argparse
from datetime import datetime

from rich.console import Console

from chaos.local.control_client import ControlClient
from common.errors import ExitCode, InvalidInputError
from common.messages import gettext as _
from scenarios.cleanup import still_running
from scenarios.cli_options import absolute_path, add_report_dir, shown
from scenarios.gameday.acks import acknowledge, open_pages
from service.settings import DEFAULT_DATA_DIR
from verify.journal import Journal


def _ack(args: argparse.Namespace) -> int:
    console = Console()
    pages = []
    for run_dir, page in open_pages(args.report_dir):
        journal_path = run_dir / "journal.json"
        live = journal_path.exists() and still_running(Journal.load(journal_path))
        if live:
            pages.append((run_dir, page))
        else:
            console.print(_("stale page in {run_dir} (its drill is no longer running): ignored").format(
                run_dir=shown(run_dir)))
    if not pages:
        console.print(_("no open page under {report_dir}").format(report_dir=shown(args.report_dir)))
        return ExitCode.PASSED  # nothing to acknowledge is not an error: the drill may not have paged yet
    for run_dir, page in pages:
        ack = acknowledge(run_dir, page)
        waited = ack.at - page.paged_at
        acknowledged = _("acknowledged {scenario} step {step} ({action}) as {by}, {seconds:.0f} s after the page")
        console.print(acknowledged.format(scenario=page.scenario, step=page.step, action=page.action, by=ack.by,
                                          seconds=waited), soft_wrap=True)
        console.print(_("runbook: {runbook}").format(runbook=page.runbook), soft_wrap=True, highlight=False)
    return ExitCode.PASSED


def _client(args: argparse.Namespace) -> ControlClient:
    return ControlClient.from_data_dir(args.data_dir)


def _update_alias(args: argparse.Namespace) -> int:
    answer = _client(args).put(f"/control/function/aliases/{args.name}", {"version": str(args.function_version)})
    print(f"{answer['alias']} -> version {answer['version']} (was {answer.get('previous_version')})")
    return ExitCode.PASSED


def _restore_table(args: argparse.Namespace) -> int:
    if (args.restore_date_time is None) == (args.backup is None):
        raise InvalidInputError("give exactly one of --restore-date-time and --backup")
    body: dict[str, object] = {"target_table": args.target_table_name}
    if args.backup:
        body["backup"] = args.backup
    else:
        try:
            body["timestamp"] = datetime.fromisoformat(args.restore_date_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise InvalidInputError(f"--restore-date-time {args.restore_date_time!r}: not an ISO 8601 time") from None
    client = _client(args)
    restored = client.post("/control/table/restore", body)
    print(f"restored {restored['items']} item(s) into {restored['table']}")
    if args.repoint:
        client.put("/control/function/config", {"table_name": restored["table"]})
        print(f"the function now reads {restored['table']} (TABLE_NAME)")
    return ExitCode.PASSED


def _switch_region(args: argparse.Namespace) -> int:
    answer = _client(args).put("/control/edge", {"active": args.to})
    print(f"traffic now goes to {answer['serving']}")
    return ExitCode.PASSED


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ack = subparsers.add_parser("ack", help="acknowledge the page of a running game-day drill")
    add_report_dir(ack)
    ack.set_defaults(func=_ack)

    bundled = subparsers.add_parser(
        "bundled", help="the runbook's actions on the bundled service (as the AWS CLI commands of the manual)")
    actions = bundled.add_subparsers(dest="bundled_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("--data-dir", type=absolute_path, default=absolute_path(DEFAULT_DATA_DIR),
                            help=f"the bundled service's data directory (default: {DEFAULT_DATA_DIR})")
        return parser

    alias = action("update-alias", "point an alias at a version (aws lambda update-alias)")
    alias.add_argument("--name", default="LIVE")
    alias.add_argument("--function-version", required=True)
    alias.set_defaults(func=_update_alias)

    restore = action("restore-table", "restore the table into a new one and repoint the function "
                                      "(aws dynamodb restore-table-to-point-in-time / -from-backup)")
    restore.add_argument("--target-table-name", required=True)
    restore.add_argument("--restore-date-time", help="ISO 8601 time to restore to (point in time)")
    restore.add_argument("--backup", help="the on-demand backup's name")
    restore.add_argument("--no-repoint", dest="repoint", action="store_false",
                         help="leave the function on the old table")
    restore.set_defaults(func=_restore_table)

    switch = action("switch-region", "send traffic to another region (Route 53 / ARC failover)")
    switch.add_argument("--to", required=True, help="the region to serve from, e.g. ap-northeast-1")
    switch.set_defaults(func=_switch_region)

