from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import psutil
import pytest
from rich.console import Console

from scenarios import cleanup as cleanup_module
from scenarios.cleanup import cleanup_runs
from service.regions.layout import DeploymentReady
from verify.journal import FaultRecord, Journal, RunStatus


class UndoRecorder:
    name: ClassVar[str] = "recorder"
    supported_actions: ClassVar[frozenset[str]] = frozenset()
    reverted: ClassVar[list[tuple[str, dict]]] = []

    def __init__(self, target, **runtime) -> None:
        self.runtime = runtime

    def revert(self, call, undo) -> None:
        UndoRecorder.reverted.append((call.name, undo))

    def close(self) -> None:
        pass


def killed_run(run_dir: Path, **fields) -> Path:
    journal = Journal(
        run_id="r", scenario="lambda-failure", profile="smoke", target="local", started_at=1.0,
        target_config={"kind": "bundled"}, provider_runtime={"data_dir": "/nowhere"},
        harness_pid=2**22 + 12345,  # no such process: the run was killed
        faults=[FaultRecord(id="bad", action="lambda.deploy-bad-version", provider="local", target="local",
                            intended_at=2.0, injected_at=2.1, undo={"previous_version": "1"})],
        **fields,
    )
    path = run_dir / "journal.json"
    journal.save(path)
    return path


@pytest.fixture(autouse=True)
def recorder(monkeypatch):
    UndoRecorder.reverted = []
    monkeypatch.setattr(cleanup_module, "provider_for", lambda target, **kw: UndoRecorder(target, **kw))


def test_cleanup_reverts_open_faults_and_marks_the_run(tmp_path: Path) -> None:
    path = killed_run(tmp_path / "20260101-000000" / "lambda-failure")
    report = cleanup_runs(tmp_path, Console(file=open(os.devnull, "w")))
    assert report.clean and report.faults_reverted == 1
    assert UndoRecorder.reverted == [("lambda.deploy-bad-version", {"previous_version": "1"})]
    journal = Journal.load(path)
    assert journal.open_faults() == []
    assert journal.status is RunStatus.ABORTED and "killed" in journal.reason
    # A second cleanup finds nothing to do.
    assert cleanup_runs(tmp_path, Console(file=open(os.devnull, "w"))).faults_reverted == 0
    assert len(UndoRecorder.reverted) == 1


def test_cleanup_leaves_a_live_run_alone(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = killed_run(tmp_path / "x" / "lambda-failure")
        journal = Journal.load(path)
        journal.harness_pid = live.pid
        journal.save(path)
        cleanup_runs(tmp_path, Console(file=open(os.devnull, "w")))
        assert UndoRecorder.reverted == []
    finally:
        live.kill()
        live.wait()


def stand_in_service(data_dir: Path, started_at: float | None = None) -> subprocess.Popen:
    """A process in its own group, described by a ready file as the bundled service's supervisor is."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    DeploymentReady(url="http://127.0.0.1:1", control_url="http://127.0.0.1:2", pid=process.pid, regions={},
                    primary="ap-northeast-2", workers=1, data_dir=str(data_dir),
                    started_at=time.time() + 1 if started_at is None else started_at).write(data_dir)
    return process


def test_cleanup_stops_the_service_the_killed_run_started(tmp_path: Path) -> None:
    service = stand_in_service(tmp_path / "svc")
    try:
        path = killed_run(tmp_path / "y" / "lambda-failure", service_pid=service.pid,
                          service_data_dir=str(tmp_path / "svc"))
        report = cleanup_runs(tmp_path / "y", Console(file=open(os.devnull, "w")))
        assert report.services_stopped == 1
        assert service.wait(timeout=10) is not None
        assert Journal.load(path).service_pid is None
    finally:
        if service.poll() is None:
            service.kill()


def test_cleanup_does_not_kill_an_unrelated_reused_pid(tmp_path: Path) -> None:
    # The ready file is older than the process that now has its pid: that process is someone else's.
    other = stand_in_service(tmp_path / "svc", started_at=1.0)
    try:
        killed_run(tmp_path / "z" / "lambda-failure", service_pid=other.pid, service_data_dir=str(tmp_path / "svc"))
        report = cleanup_runs(tmp_path / "z", Console(file=open(os.devnull, "w")))
        assert psutil.pid_exists(other.pid) and other.poll() is None
        assert report.services_stopped == 0
    finally:
        other.kill()
        other.wait()
