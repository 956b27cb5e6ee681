"""`run` and `cleanup`: execute drills, and undo what a killed run left behind."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rich.console import Console

from common.errors import ExitCode, HarnessError, InvalidInputError
from common.messages import gettext as _
from scenarios.cleanup import cleanup_runs
from scenarios.cli_options import (
    add_allow_protected,
    add_file,
    add_profile,
    add_report_dir,
    add_target,
    chosen_profile,
    history_dir,
    shown,
)
from scenarios.engine import DrillEngine
from scenarios.loader import load_config
from scenarios.models import DrillPlan, resolve
from scenarios.reporting import write_reports, write_suite_reports
from scenarios.target_choice import choose_target, require_control, with_target
from scenarios.target_cleanup import TargetCleanup
from verify.journal import Journal, RunStatus

LATEST_LINK = "latest"  # runs/latest -> the newest suite directory, for `report runs/latest/<scenario>`


class Outcome(StrEnum):
    PASSED = "passed"
    EXPECTED_FAILURE = "expected failure"
    FAILED = "FAILED"
    UNEXPECTED_PASS = "UNEXPECTED PASS"
    INCONCLUSIVE = "INCONCLUSIVE"  # no check failed, one could not be judged (the reason says which, and why)
    ABORTED = "ABORTED"
    ERROR = "ERROR"

    @property
    def text(self) -> str:
        """The outcome as people read it, in the chosen language (the value stays the same in every language)."""
        return {
            Outcome.PASSED: _("passed"), Outcome.EXPECTED_FAILURE: _("expected failure"), Outcome.FAILED: _("FAILED"),
            Outcome.UNEXPECTED_PASS: _("UNEXPECTED PASS"), Outcome.INCONCLUSIVE: _("INCONCLUSIVE"),
            Outcome.ABORTED: _("ABORTED"), Outcome.ERROR: _("ERROR"),
        }[self]


@dataclass(frozen=True)
class DrillResult:
    journal: Journal
    outcome: Outcome
    exit_code: ExitCode
    run_dir: Path


def judge(journal: Journal, error: BaseException | None) -> tuple[Outcome, ExitCode]:
    status, expected_fail = journal.status, journal.expected_to_fail
    if status is RunStatus.PASSED:
        return (Outcome.UNEXPECTED_PASS, ExitCode.CHECK_FAILED) if expected_fail else (Outcome.PASSED, ExitCode.PASSED)
    if status is RunStatus.FAILED:
        return (Outcome.EXPECTED_FAILURE, ExitCode.PASSED) if expected_fail else (Outcome.FAILED, ExitCode.CHECK_FAILED)
    if status is RunStatus.INCONCLUSIVE:  # a promise not shown to hold is not kept, not even by a negative control
        return Outcome.INCONCLUSIVE, ExitCode.CHECK_FAILED
    if status is RunStatus.ABORTED:
        return Outcome.ABORTED, ExitCode.CHECK_FAILED
    code = error.exit_code if isinstance(error, HarnessError) else ExitCode.TARGET_ERROR
    return Outcome.ERROR, code


def run_drills(
    plans: list[DrillPlan], report_dir: Path, console: Console, *, progress: bool = True
) -> list[DrillResult]:
    report_dir = report_dir.absolute()  # run directories reach subprocesses and journals: never relative
    suite_dir = report_dir / time.strftime("%Y%m%d-%H%M%S")
    suite_dir.mkdir(parents=True, exist_ok=True)
    link_latest(report_dir, suite_dir)
    results: list[DrillResult] = []
    for plan in plans:
        run_dir = suite_dir / plan.scenario
        # soft_wrap: a path is copied from the terminal, never folded across lines.
        console.print("[bold]" + _("drill {scenario}").format(scenario=plan.scenario) + "[/] "
                      + _("({profile}, target {target}) -> {run_dir}").format(
                          profile=plan.profile, target=plan.target_name, run_dir=shown(run_dir)),
                      soft_wrap=True)
        engine = DrillEngine(plan, run_dir)
        engine.progress.enabled = progress
        journal = engine.run()
        outcome, code = judge(journal, engine.error)
        write_reports(journal, run_dir, history_dir(report_dir), console)
        if isinstance(engine.error, Exception) and not isinstance(engine.error, HarnessError):
            raise engine.error  # a harness bug: faults are reverted; the CLI shows it under --debug
        results.append(DrillResult(journal, outcome, code, run_dir))
        if interrupted(journal):
            break  # Ctrl-C / SIGTERM ends the suite, not just this drill
    write_suite_reports([r.journal for r in results], suite_dir)
    return results


def link_latest(report_dir: Path, suite_dir: Path) -> None:
    """Point `latest` at the newest suite (relative, so a copied runs directory keeps working)."""
    link = report_dir / LATEST_LINK
    tmp = report_dir / f".{LATEST_LINK}.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(suite_dir.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)  # a file system without symlinks: the dated directory is still there


def interrupted(journal: Journal) -> bool:
    return journal.status is RunStatus.ABORTED and journal.reason.startswith("interrupted")


def _run(args: argparse.Namespace) -> int:
    console = Console()
    config = load_config(args.file)
    choice = choose_target(config, args.target, allow_protected=args.allow_protected)
    require_control(choice, args.file)
    profile = chosen_profile(args.profile, choice.target)
    names = args.scenarios or config.suite(profile)
    if not names:
        raise InvalidInputError(f"profile {profile!r} has no scenarios to run")
    config = with_target(config, choice)
    # Resolve every drill first: a bad name, a protected target or a time scale the target cannot meet
    # stops the suite before anything starts.
    plans = [resolve(config, name, profile, choice.name, allow_protected=args.allow_protected) for name in names]
    refused = [f"{plan.scenario}: {why}" for plan in plans if (why := plan.time_scale_refusal())]
    if refused and not args.force_time_scale:
        raise InvalidInputError("\n".join(refused))
    results = run_drills(plans, args.report_dir, console, progress=not args.quiet)
    console.print()
    for result in results:
        journal = result.journal
        style = "green" if result.exit_code == ExitCode.PASSED else "red"
        why = f" — {journal.reason}" if journal.reason else ""
        console.print(f"[{style}]{result.outcome.text:>16}[/] {journal.scenario}{why}")
    worst = max((r.exit_code for r in results), default=ExitCode.PASSED)
    if any(interrupted(r.journal) for r in results):
        return ExitCode.INTERRUPTED
    return int(worst)


def _cleanup(args: argparse.Namespace) -> int:
    # Every option and the target are checked before anything is undone.
    if args.target is None and (args.dry_run or args.keep_accounts):
        raise InvalidInputError("--dry-run and --keep-accounts are about what drills left on a target: name it "
                                "with --target")
    sweep = None
    console = Console()
    if args.target is not None:
        # Undoes only what drills made, so a protected target needs no --allow-protected here.
        choice = choose_target(load_config(args.file, require_providers=False), args.target, allow_protected=True)
        require_control(choice, args.file)
        sweep = TargetCleanup(choice.name, choice.target, console, dry_run=args.dry_run,
                              keep_accounts=args.keep_accounts)
    clean = args.dry_run or cleanup_runs(args.report_dir, console).clean
    if sweep is not None:
        clean = sweep.run().clean and clean
    return int(ExitCode.PASSED if clean else ExitCode.TARGET_ERROR)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run drills (no scenario: the profile's suite, the three recovery drills)")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    add_file(run)
    add_profile(run)
    add_target(run)
    add_report_dir(run)
    add_allow_protected(run)
    run.add_argument("--force-time-scale", action="store_true",
                     help="run with a time_scale below the target's min_time_scale (waits end before AWS acts)")
    run.add_argument("--quiet", "-q", action="store_true", help="no live progress")
    run.set_defaults(func=_run)

    cleanup = subparsers.add_parser(
        "cleanup", help="revert faults and stop services a killed run left behind (its journal); with --target, "
        "also what drills left on the target itself: fault markers, FIS experiments, the load's Cognito accounts")
    add_report_dir(cleanup)
    add_file(cleanup)
    cleanup.add_argument("--target", metavar="T", default=None,
                         help="also find what drills left on this target without any journal, and undo it")
    cleanup.add_argument("--dry-run", action="store_true", help="with --target: list what would be undone, change nothing")
    cleanup.add_argument("--keep-accounts", action="store_true",
                         help="with --target: leave the load's Cognito accounts for the next run to reuse")
    cleanup.set_defaults(func=_cleanup)
