from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from chaos.actions import ActionCall
from chaos.provider import RemediationContext
from scenarios.errors import ProviderError
from scenarios.fault_tracker import FaultTracker
from scenarios.journal import Journal


class RecordingProvider:
    """A provider whose 'system' is a dict, so tests can see what is in effect."""

    name: ClassVar[str] = "recording"
    supported_actions: ClassVar[frozenset[str]] = frozenset({"lambda.invocation-error", "lambda.rollback"})

    def __init__(self, journal_path: Path | None = None) -> None:
        self.active: dict[str, dict] = {}
        self.fail_inject_after_apply = False
        self.fail_revert = False
        self.journal_path = journal_path
        self.journal_on_disk_at_inject: Journal | None = None
        self.remediations: list[tuple[str, RemediationContext]] = []

    def preflight(self, calls):
        return []

    def plan(self, call):
        return [f"do {call.name}"]

    def inject(self, call):
        if self.journal_path is not None:
            self.journal_on_disk_at_inject = Journal.load(self.journal_path)
        self.active[call.name] = dict(call.params)
        if self.fail_inject_after_apply:
            raise ProviderError("half-applied")
        return {"previous": "1"}

    def revert(self, call, undo):
        if self.fail_revert:
            raise ProviderError("revert refused")
        self.active.pop(call.name, None)

    def remediate(self, call, context):
        self.remediations.append((call.name, context))
        return {"ok": True}

    def close(self):
        pass


def make(tmp_path: Path, provider: RecordingProvider | None = None) -> tuple[FaultTracker, RecordingProvider]:
    path = tmp_path / "journal.json"
    provider = provider or RecordingProvider(path)
    journal = Journal(run_id="r1", scenario="s", profile="smoke", target="local", started_at=0.0)
    ticks = iter(range(100, 10_000))
    return FaultTracker(journal, path, provider, clock=lambda: float(next(ticks))), provider


def test_fault_is_journaled_on_disk_before_injection(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.inject("f1", ActionCall(name="lambda.invocation-error", params={"percentage": 50}))
    before = provider.journal_on_disk_at_inject
    assert before is not None and len(before.faults) == 1
    assert before.faults[0].injected_at is None
    after = Journal.load(tmp_path / "journal.json")
    assert after.faults[0].injected_at is not None
    assert after.faults[0].undo == {"previous": "1"}
    assert after.fault_at == after.faults[0].intended_at


def test_revert_all_undoes_and_records(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.inject("f1", ActionCall(name="lambda.invocation-error", params={"percentage": 50}))
    assert provider.active
    assert tracker.revert_all() == []
    assert provider.active == {}
    on_disk = Journal.load(tmp_path / "journal.json")
    assert on_disk.open_faults() == []
    assert on_disk.faults[0].reverted_at is not None
    assert tracker.revert_all() == []  # a second revert is a no-op


def test_half_applied_injection_stays_open_and_is_reverted(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    provider.fail_inject_after_apply = True
    with pytest.raises(ProviderError):
        tracker.inject("f1", ActionCall(name="lambda.invocation-error"))
    assert len(tracker.journal.open_faults()) == 1
    tracker.revert_all()
    assert provider.active == {}


def test_failed_revert_is_recorded_and_left_open(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.inject("f1", ActionCall(name="lambda.invocation-error"))
    provider.fail_revert = True
    failed = tracker.revert_all()
    assert [f.id for f in failed] == ["f1"]
    assert Journal.load(tmp_path / "journal.json").faults[0].revert_error == "revert refused"
    provider.fail_revert = False
    assert tracker.revert_all() == []


def test_remediation_gets_fault_time_and_undo(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.remediate(ActionCall(name="lambda.rollback"), setup=True)
    assert tracker.journal.remediated_at is None  # a setup step is not a remediation
    record = tracker.inject("f1", ActionCall(name="lambda.invocation-error"))
    tracker.remediate(ActionCall(name="lambda.rollback"))
    name, context = provider.remediations[-1]
    assert context.fault_at == record.intended_at
    assert context.undo_by_action["lambda.invocation-error"] == {"previous": "1"}
    assert tracker.journal.remediated_at is not None


def test_revert_fault_remediation_is_done_by_the_engine(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.inject("f1", ActionCall(name="lambda.invocation-error"))
    tracker.remediate(ActionCall(name="revert-fault", params={"fault": "f1"}))
    assert provider.active == {}
    assert provider.remediations == []
