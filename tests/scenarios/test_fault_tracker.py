from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from chaos.actions import ActionCall
from chaos.provider import InjectedFault, RemediationContext
from common.errors import InvalidInputError, ProviderError
from scenarios.fault_tracker import FaultTracker
from verify.journal import Journal


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


def make(tmp_path: Path, provider: Any = None) -> tuple[FaultTracker, Any]:
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
    assert [(f.id, f.action, f.undo) for f in context.faults] == [("f1", "lambda.invocation-error", {"previous": "1"})]
    assert context.undo_by_fault == {"f1": {"previous": "1"}}
    assert tracker.journal.remediated_at is not None


def test_revert_fault_remediation_is_done_by_the_engine(tmp_path: Path) -> None:
    tracker, provider = make(tmp_path)
    tracker.inject("f1", ActionCall(name="lambda.invocation-error"))
    tracker.remediate(ActionCall(name="revert-fault", params={"fault": "f1"}))
    assert provider.active == {}
    assert provider.remediations == []


# ---- two faults of the same action (issue 19): each keeps, and is reverted with, its own undo data ----


class SlotProvider:
    """Like the bundled service: one slot per fault action, each injection snapshots what the slot held."""

    name: ClassVar[str] = "slots"
    supported_actions: ClassVar[frozenset[str]] = frozenset({"lambda.add-latency", "lambda.rollback"})

    def __init__(self, slots: dict[str, dict] | None = None) -> None:
        self.slots: dict[str, dict] = {} if slots is None else slots  # shared with a provider rebuilt by cleanup
        self.reverts: list[tuple[dict, dict]] = []  # (params, undo) of each revert call
        self.contexts: list[RemediationContext] = []

    def preflight(self, calls):
        return []

    def plan(self, call):
        return []

    def inject(self, call):
        previous = self.slots.get(call.name)
        self.slots[call.name] = dict(call.params)
        return {"previous": previous, "applied": dict(call.params)}

    def revert(self, call, undo):
        self.reverts.append((dict(call.params), dict(undo)))
        if self.slots.get(call.name) != undo.get("applied"):
            return  # not (any more) what this fault made: already reverted
        if undo.get("previous"):
            self.slots[call.name] = dict(undo["previous"])
        else:
            self.slots.pop(call.name, None)

    def remediate(self, call, context):
        self.contexts.append(context)
        return {}

    def close(self):
        pass


SLOW = ActionCall(name="lambda.add-latency", params={"latency_ms": 300, "percentage": 50})
SLOWER = ActionCall(name="lambda.add-latency", params={"latency_ms": 900, "percentage": 100})


def test_two_faults_of_one_action_keep_their_own_undo_data(tmp_path: Path) -> None:
    provider = SlotProvider()
    tracker, _ = make(tmp_path, provider)
    tracker.inject("slow", SLOW)
    tracker.inject("slower", SLOWER)
    on_disk = {f.id: f.undo for f in Journal.load(tmp_path / "journal.json").faults}
    assert on_disk == {
        "slow": {"previous": None, "applied": SLOW.params},
        "slower": {"previous": SLOW.params, "applied": SLOWER.params},
    }
    tracker.remediate(ActionCall(name="lambda.rollback"))
    context = provider.contexts[-1]
    assert [f.id for f in context.faults] == ["slow", "slower"]
    assert context.undo_by_fault == on_disk
    assert context.first_fault({"lambda.add-latency"}).id == "slow"
    assert context.fault("slower").undo["previous"] == SLOW.params

    assert tracker.revert_all() == []
    # Newest first, each with its own snapshot: the second puts the first back, the first clears the slot.
    assert provider.reverts == [(SLOWER.params, on_disk["slower"]), (SLOW.params, on_disk["slow"])]
    assert provider.slots == {}
    assert all(f.reverted_at is not None for f in Journal.load(tmp_path / "journal.json").faults)
    assert tracker.revert_all() == [] and len(provider.reverts) == 2  # idempotent: nothing reverted twice


def test_revert_fault_reverts_only_the_fault_it_names(tmp_path: Path) -> None:
    provider = SlotProvider()
    tracker, _ = make(tmp_path, provider)
    tracker.inject("slow", SLOW)
    tracker.inject("slower", SLOWER)
    tracker.remediate(ActionCall(name="revert-fault", params={"fault": "slower"}))
    assert provider.reverts == [(SLOWER.params, {"previous": SLOW.params, "applied": SLOWER.params})]
    assert provider.slots == {"lambda.add-latency": SLOW.params}  # the first fault is still in effect
    assert [f.id for f in tracker.journal.open_faults()] == ["slow"]
    tracker.remediate(ActionCall(name="lambda.rollback"))
    assert [(f.id, f.reverted) for f in provider.contexts[-1].faults] == [("slow", False), ("slower", True)]
    assert tracker.revert_all() == []
    assert provider.slots == {}


def test_a_step_finds_the_fault_it_undoes_by_its_own_undo_data() -> None:
    bad_1 = {"previous_version": "1", "bad_version": "2"}
    bad_2 = {"previous_version": "2", "bad_version": "3"}  # snapshot taken while bad-1 was in effect
    context = RemediationContext(
        fault_at=1.0,
        faults=(
            InjectedFault("errors", "lambda.invocation-error", {"experiment_id": "E1"}),
            InjectedFault("bad-1", "lambda.deploy-bad-version", bad_1, reverted=True),
            InjectedFault("bad-2", "lambda.deploy-bad-version", bad_2),
        ),
    )
    alias_faults = {"lambda.invocation-error", "lambda.deploy-bad-version"}
    # The first bad deploy, even once reverted out of order: the second's snapshot is bad version 2.
    assert context.first_fault({"lambda.deploy-bad-version"}) == context.fault("bad-1")
    assert context.first_fault(alias_faults, having="previous_version").id == "bad-1"
    assert context.first_fault(alias_faults).id == "errors"
    assert context.first_fault({"table.corrupt"}) is None and context.fault("nope") is None
    assert context.undo_by_fault == {"errors": {"experiment_id": "E1"}, "bad-1": bad_1, "bad-2": bad_2}


def test_a_fault_id_is_journaled_once(tmp_path: Path) -> None:
    provider = SlotProvider()
    tracker, _ = make(tmp_path, provider)
    tracker.inject("lat", SLOW)
    with pytest.raises(InvalidInputError, match="already in this drill's journal"):
        tracker.inject("lat", SLOWER)
    assert provider.slots == {"lambda.add-latency": SLOW.params}  # never made
    assert [f.id for f in Journal.load(tmp_path / "journal.json").faults] == ["lat"]


def test_cleanup_rebuilds_the_tracker_and_reverts_both_faults_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed with two faults of one action in effect: `hanbit-drill cleanup` reverts each from the
    journal alone, with its own undo data."""
    from rich.console import Console

    from chaos.targets import BundledTarget
    from scenarios import cleanup

    system: dict[str, dict] = {}
    tracker, _ = make(tmp_path, SlotProvider(system))
    tracker.journal.target_config = BundledTarget().model_dump(mode="json")
    tracker.inject("slow", SLOW)
    tracker.inject("slower", SLOWER)
    del tracker  # kill -9: nothing reverted
    assert system == {"lambda.add-latency": SLOWER.params}

    rebuilt = SlotProvider(system)
    monkeypatch.setattr(cleanup, "provider_for", lambda target, **runtime: rebuilt)
    report = cleanup.CleanupReport()
    cleanup.cleanup_journal(tmp_path / "journal.json", report, Console(quiet=True))
    assert report.clean and report.faults_reverted == 2
    assert rebuilt.reverts == [
        (SLOWER.params, {"previous": SLOW.params, "applied": SLOWER.params}),
        (SLOW.params, {"previous": None, "applied": SLOW.params}),
    ]
    assert system == {}
    assert Journal.load(tmp_path / "journal.json").open_faults() == []
