"""`run` and `cleanup`: execute drills, and undo what a killed run left behind."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rich.console import Console

from scenarios.cleanup import cleanup_runs
from scenarios.engine import DrillEngine
from scenarios.errors import ExitCode, HarnessError, InvalidInputError
from scenarios.journal import Journal, RunStatus
from scenarios.loader import load_config
from scenarios.models import DrillPlan, resolve
from scenarios.reporting import write_reports, write_suite_reports

DEFAULT_FILE = "scenarios.yaml"
DEFAULT_REPORT_DIR = "runs"


class Outcome(StrEnum):
    PASSED = "passed"
    EXPECTED_FAILURE = "expected failure"
    FAILED = "FAILED"
    UNEXPECTED_PASS = "UNEXPECTED PASS"
    ABORTED = "ABORTED"
    ERROR = "ERROR"


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
    if status is RunStatus.ABORTED:
        return Outcome.ABORTED, ExitCode.CHECK_FAILED
    code = error.exit_code if isinstance(error, HarnessError) else ExitCode.TARGET_ERROR
    return Outcome.ERROR, code


def run_drills(
    plans: list[DrillPlan], report_dir: Path, console: Console, *, progress: bool = True
) -> list[DrillResult]:
    suite_dir = report_dir / time.strftime("%Y%m%d-%H%M%S")
    results: list[DrillResult] = []
    for plan in plans:
        run_dir = suite_dir / plan.scenario
        console.print(f"[bold]drill {plan.scenario}[/] ({plan.profile}, target {plan.target_name}) -> {run_dir}")
        engine = DrillEngine(plan, run_dir)
        engine.progress.enabled = progress
        journal = engine.run()
        outcome, code = judge(journal, engine.error)
        write_reports(journal, run_dir, report_dir / "history", console)
        if isinstance(engine.error, Exception) and not isinstance(engine.error, HarnessError):
            raise engine.error  # a harness bug: faults are reverted; the CLI shows it under --debug
        results.append(DrillResult(journal, outcome, code, run_dir))
        if interrupted(journal):
            break  # Ctrl-C / SIGTERM ends the suite, not just this drill
    write_suite_reports([r.journal for r in results], suite_dir)
    return results


def interrupted(journal: Journal) -> bool:
    return journal.status is RunStatus.ABORTED and journal.reason.startswith("interrupted")


def _run(args: argparse.Namespace) -> int:
    console = Console()
    config = load_config(args.file)
    names = args.scenarios or config.suite(args.profile)
    if not names:
        raise InvalidInputError(f"profile {args.profile!r} has no scenarios to run")
    # Resolve every drill first: a bad name or a protected target stops the suite before anything starts.
    plans = [
        resolve(config, name, args.profile, args.target, allow_protected=args.allow_protected) for name in names
    ]
    results = run_drills(plans, Path(args.report_dir), console, progress=not args.quiet)
    console.print()
    for result in results:
        journal = result.journal
        style = "green" if result.exit_code == ExitCode.PASSED else "red"
        why = f" — {journal.reason}" if journal.reason else ""
        console.print(f"[{style}]{result.outcome.value:>16}[/] {journal.scenario}{why}")
    worst = max((r.exit_code for r in results), default=ExitCode.PASSED)
    if any(r.journal.status is RunStatus.ABORTED and interrupted(r.journal) for r in results):
        return 130
    return int(worst)


def _cleanup(args: argparse.Namespace) -> int:
    console = Console()
    report = cleanup_runs(Path(args.report_dir), console)
    return int(ExitCode.PASSED if report.clean else ExitCode.TARGET_ERROR)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run drills (no scenario: the profile's suite, the three recovery drills)")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    run.add_argument("--file", "-f", default=DEFAULT_FILE, help="scenario file (default: %(default)s)")
    run.add_argument("--profile", "-p", default="smoke", help="profile (default: %(default)s)")
    run.add_argument("--target", "-t", default="local", help="target (default: %(default)s)")
    run.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, help="where runs are written (default: %(default)s)")
    run.add_argument("--allow-protected", action="store_true", help="allow a target marked protected")
    run.add_argument("--quiet", "-q", action="store_true", help="no live progress")
    run.set_defaults(func=_run)

    cleanup = subparsers.add_parser("cleanup", help="revert faults and stop services a killed run left behind")
    cleanup.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, help="where runs are written (default: %(default)s)")
    cleanup.set_defaults(func=_cleanup)
