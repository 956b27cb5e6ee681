"""`hanbit-drill cleanup`: undo what a killed run (kill -9, power loss) left behind.

Every run's journal is on disk with each fault recorded before it was made, and
the pid of any bundled service the run started. Cleanup rebuilds each run's
provider from its journal, reverts the faults still open (reverts are
idempotent, so a fault that never landed is harmless), and stops the service.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from pydantic import ValidationError
from rich.console import Console

from common.errors import HarnessError
from scenarios.fault_tracker import FaultTracker
from scenarios.target_kinds import TARGET_SPEC, kind_of, provider_for
from verify.journal import Journal, RunStatus


@dataclass
class CleanupReport:
    runs_checked: int = 0
    faults_reverted: int = 0
    services_stopped: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def still_running(journal: Journal) -> bool:
    """The run's own harness process is alive: it reverts its faults itself."""
    pid = journal.harness_pid
    return pid is not None and pid != os.getpid() and journal.status is RunStatus.RUNNING and psutil.pid_exists(pid)


def needs_cleanup(journal: Journal) -> bool:
    if still_running(journal):
        return False
    return bool(journal.open_faults()) or journal.service_pid is not None or journal.status is RunStatus.RUNNING


def find_journals(report_dir: Path) -> list[Path]:
    return sorted(report_dir.glob("**/journal.json")) if report_dir.exists() else []


def cleanup_journal(path: Path, report: CleanupReport, console: Console) -> None:
    journal = Journal.load(path)
    if not needs_cleanup(journal):
        return
    console.print(f"cleaning up {journal.scenario} ({path.parent})")
    if journal.open_faults():
        try:
            target = TARGET_SPEC.validate_python(journal.target_config)
            provider = provider_for(target, **journal.provider_runtime)
        except (ValidationError, HarnessError) as exc:
            report.problems.append(f"{path}: cannot rebuild the provider: {exc}")
            return
        tracker = FaultTracker(journal, path, provider)
        opened = len(journal.open_faults())
        left = tracker.revert_all()
        provider.close()
        report.faults_reverted += opened - len(left)
        for fault in left:
            report.problems.append(f"{path}: fault {fault.id} ({fault.action}) not reverted: {fault.revert_error}")
        for fault in journal.faults:
            if fault.reverted_at is not None:
                console.print(f"  reverted {fault.id} ({fault.action})")
    if journal.service_pid is not None:
        kind = kind_of(str(journal.target_config.get("kind") or journal.target_kind))
        if kind.session.stop_leftover(journal.service_pid, journal.service_data_dir):
            report.services_stopped += 1
            console.print(f"  stopped the bundled service (pid {journal.service_pid})")
        journal.service_pid = None
    if journal.status is RunStatus.RUNNING:
        journal.status = RunStatus.ABORTED
        journal.reason = f"the run was killed; cleaned up by `hanbit-drill cleanup` at {time.strftime('%Y-%m-%d %H:%M:%S')}"
        journal.ended_at = journal.ended_at or time.time()
    journal.save(path)


def cleanup_runs(report_dir: Path, console: Console) -> CleanupReport:
    report = CleanupReport()
    for path in find_journals(report_dir):
        report.runs_checked += 1
        try:
            cleanup_journal(path, report, console)
        except (OSError, ValidationError) as exc:
            report.problems.append(f"{path}: {exc}")
    if report.clean:
        console.print(
            f"clean: {report.runs_checked} run(s) checked, {report.faults_reverted} fault(s) reverted, "
            f"{report.services_stopped} service(s) stopped"
        )
    else:
        for problem in report.problems:
            console.print(f"[red]{problem}[/]")
    return report
