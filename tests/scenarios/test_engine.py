"""The engine against a simulated system (engine_sim.py): faults, remediation, reverts, stop conditions,
signals, two faults of one action, the drill's own items and the clients' path."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import ClassVar

from engine_sim import (  # the simulated system (tests/scenarios/engine_sim.py)
    LOAD_PREFIX,
    YAML_SCENARIO,
    FakeLoad,
    FakeProvider,
    FakeSession,
    SimClock,
    SimSystem,
    run,
)

from scenarios.engine import DrillEngine
from scenarios.models import Config, resolve
from verify.journal import Journal, RunStatus


def test_bad_deploy_is_detected_rolled_back_and_recovers(tmp_path: Path) -> None:
    journal, system, load = run(tmp_path)
    assert journal.status is RunStatus.PASSED, journal.reason
    assert system.injections == 1 and system.rollbacks == 1
    assert 1 <= journal.detection_s <= 4
    assert journal.recovery_s is not None and journal.recovery_s < 20
    assert journal.faults[0].reverted_at is not None
    assert {c.name for c in journal.checks} >= {"rto", "detection"}
    assert load.stopped
    assert Journal.load(tmp_path / "run" / "journal.json").status is RunStatus.PASSED


def test_without_remediation_the_rto_check_fails(tmp_path: Path) -> None:
    journal, system, _ = run(tmp_path, remediation=[{"action": "lambda.rollback", "when": "never"}])
    assert journal.status is RunStatus.FAILED
    assert journal.recovered_at is None
    rto = next(c for c in journal.checks if c.name == "rto")
    assert not rto.passed
    assert system.reverts == 1 and not system.broken  # the fault is still undone at the end


def test_ctrl_c_mid_drill_reverts_the_fault(tmp_path: Path) -> None:
    journal, system, _ = run(tmp_path, interrupt_at=9)
    assert journal.status is RunStatus.ABORTED
    assert system.injections == 1 and system.reverts == 1 and not system.broken
    on_disk = Journal.load(tmp_path / "run" / "journal.json")
    assert on_disk.open_faults() == []


def test_stop_condition_aborts_and_reverts(tmp_path: Path) -> None:
    journal, system, _ = run(
        tmp_path,
        remediation=[{"action": "lambda.rollback", "when": "never"}],
        stop_conditions=[{"error_rate_above": 0.5, "for": 3.0}],
    )
    assert journal.status is RunStatus.ABORTED
    assert "stop condition" in journal.reason
    assert not system.broken


def test_sigterm_handler_is_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    run(tmp_path)
    assert signal.getsignal(signal.SIGTERM) is before


# ---- two faults of the same action (issue 19) ------------------------------------------------------------


class SlotSystem:
    """Like the bundled service: one slot per fault kind, and alias LIVE over published versions."""

    def __init__(self) -> None:
        self.slots: dict[str, dict] = {}
        self.live = "1"
        self.versions = ["1"]
        self.bad: set[str] = set()
        self.reverts: list[tuple[dict, dict]] = []  # (params, undo) of each revert call
        self.contexts: list = []

    @property
    def broken(self) -> bool:
        return bool(self.slots) or self.live in self.bad


class SlotProvider(FakeProvider):
    """Each injection snapshots what it replaces: a second fault of one action snapshots the first's doing.
    (Construction, preflight, plan, alarms and close are the simulated provider's.)"""

    name: ClassVar[str] = "slots"
    supported_actions: ClassVar[frozenset[str]] = frozenset(
        {"lambda.add-latency", "lambda.deploy-bad-version", "lambda.rollback", "lambda.update-config"}
    )

    def inject(self, call):
        s = self.system
        if call.name == "lambda.deploy-bad-version":
            bad = str(len(s.versions) + 1)
            s.versions.append(bad)
            s.bad.add(bad)
            previous, s.live = s.live, bad
            return {"previous_version": previous, "bad_version": bad}
        previous = s.slots.get(call.name)
        s.slots[call.name] = dict(call.params)
        return {"previous": previous, "applied": dict(call.params)}

    def revert(self, call, undo):
        s = self.system
        s.reverts.append((dict(call.params), dict(undo)))
        if call.name == "lambda.deploy-bad-version":
            if s.live == undo.get("bad_version"):  # a rollback since is left alone
                s.live = str(undo["previous_version"])
        elif s.slots.get(call.name) == undo.get("applied"):
            if undo.get("previous"):
                s.slots[call.name] = dict(undo["previous"])
            else:
                s.slots.pop(call.name, None)

    def remediate(self, call, context):
        self.system.contexts.append(context)
        if call.name == "lambda.rollback":
            fault = context.first_fault({"lambda.deploy-bad-version"}, having="previous_version")
            self.system.live = str(fault.undo["previous_version"])
            return {"to": self.system.live, "fault": fault.id}
        return {}


SLOW = {"latency_ms": 300, "percentage": 50}
SLOWER = {"latency_ms": 900, "percentage": 100}


def test_two_latency_faults_are_each_reverted_with_their_own_undo_data(tmp_path: Path) -> None:
    system = SlotSystem()
    journal, _, _ = run(
        tmp_path,
        system=system,
        provider=SlotProvider,
        faults=[
            {"id": "slow", "action": "lambda.add-latency", "params": SLOW},
            {"id": "slower", "action": "lambda.add-latency", "params": SLOWER, "at": 3.0},
        ],
        remediation=[
            {"action": "lambda.update-config", "params": {"timeout_s": 30}, "when": "after-fault", "delay": 5}
        ],
        checks=["slo-baseline"],
    )
    assert journal.status is RunStatus.PASSED, journal.reason
    on_disk = Journal.load(tmp_path / "run" / "journal.json")
    undo = {f.id: f.undo for f in on_disk.faults}
    assert undo == {
        "slow": {"previous": None, "applied": SLOW},
        "slower": {"previous": SLOW, "applied": SLOWER},  # the second's snapshot is the first fault
    }
    # The runbook step saw both faults, each by its id with its own undo data.
    (context,) = system.contexts
    assert [(f.id, f.action) for f in context.faults] == [
        ("slow", "lambda.add-latency"),
        ("slower", "lambda.add-latency"),
    ]
    assert context.undo_by_fault == undo
    # Reverted newest first, each exactly once with its own snapshot: the slot ends as it was found.
    assert system.reverts == [(SLOWER, undo["slower"]), (SLOW, undo["slow"])]
    assert system.slots == {}
    assert on_disk.open_faults() == [] and all(f.revert_error is None for f in on_disk.faults)


def test_rollback_after_two_bad_deploys_goes_to_the_version_before_the_first(tmp_path: Path) -> None:
    system = SlotSystem()
    journal, _, _ = run(
        tmp_path,
        system=system,
        provider=SlotProvider,
        faults=[
            {"id": "bad-1", "action": "lambda.deploy-bad-version"},
            {"id": "bad-2", "action": "lambda.deploy-bad-version", "at": 1.0},
        ],
        remediation=[{"action": "lambda.rollback", "when": "on-detection", "delay": 2.0}],
    )
    assert journal.status is RunStatus.PASSED, journal.reason
    undo = {f.id: f.undo for f in journal.faults}
    assert undo == {
        "bad-1": {"previous_version": "1", "bad_version": "2"},
        "bad-2": {"previous_version": "2", "bad_version": "3"},
    }
    # By action name the second's snapshot (bad version 2) would have won; by fault id the first's is used.
    assert journal.remediations[-1].detail == {"to": "1", "fault": "bad-1"}
    assert system.live == "1"
    assert system.reverts == [({}, undo["bad-2"]), ({}, undo["bad-1"])]  # both left LIVE alone
    assert journal.open_faults() == []


def test_ctrl_c_with_two_faults_of_one_action_reverts_both_exactly(tmp_path: Path) -> None:
    """Ctrl-C in the middle: the engine reverts both, newest first, each with its own undo data."""
    system = SlotSystem()
    journal, system, _ = run(
        tmp_path,
        interrupt_at=14,
        system=system,
        provider=SlotProvider,
        faults=[
            {"id": "slow", "action": "lambda.add-latency", "params": SLOW},
            {"id": "slower", "action": "lambda.add-latency", "params": SLOWER, "at": 2.0},
        ],
        remediation=[],
        checks=["slo-baseline"],
    )
    assert journal.status is RunStatus.ABORTED
    assert [f.id for f in journal.faults] == ["slow", "slower"]
    assert system.reverts == [(SLOWER, journal.faults[1].undo), (SLOW, journal.faults[0].undo)]
    assert system.slots == {}


# ---- the drill's own items and the clients' path (issue 17) --------------------------------------------------


class RecordingProvider(FakeProvider):
    supported_actions: ClassVar[frozenset[str]] = frozenset({"table.corrupt", "region.outage", "lambda.rollback"})
    calls: ClassVar[list] = []

    def inject(self, call):
        RecordingProvider.calls.append(call)
        return super().inject(call)


def test_a_fault_on_the_drills_data_gets_the_prefix_of_the_loads_ids(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(RecordingProvider, "calls", [])
    journal, _, _ = run(
        tmp_path,
        provider=RecordingProvider,
        faults=[{"id": "migration", "action": "table.corrupt", "params": {"fraction": 0.2}}],
    )
    assert [c.params for c in RecordingProvider.calls] == [{"fraction": 0.2, "id_prefix": LOAD_PREFIX}]
    assert journal.faults[0].parameters == {"fraction": 0.2, "id_prefix": LOAD_PREFIX}  # cleanup reverts with it


def test_other_faults_are_passed_as_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(RecordingProvider, "calls", [])
    run(tmp_path, provider=RecordingProvider, faults=[{"id": "down", "action": "region.outage"}])
    assert [c.params for c in RecordingProvider.calls] == [{}]


def test_a_region_drill_sends_its_load_to_the_failover_name(tmp_path: Path) -> None:
    targets = {
        "staging": {
            "kind": "aws",
            "api_url": "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod",
            "failover_url": "https://api.staging.example",
        }
    }
    config = Config.model_validate(
        {
            "version": 1,
            "profiles": {"smoke": {"time_scale": 1.0}},
            "defaults": {"load": {"rps": 100}},
            "targets": targets,
            "scenarios": {
                "region": {**YAML_SCENARIO, "faults": [{"id": "down", "action": "region.outage"}]},
                "lambda": YAML_SCENARIO,
            },
        }
    )
    urls, sampled, journals = [], [], []
    for name in ("region", "lambda"):
        clock, system = SimClock(), SimSystem()
        load = FakeLoad(system, clock)
        engine = DrillEngine(
            resolve(config, name, "smoke", "staging"),
            tmp_path / name,
            load_factory=lambda url, plan, run_dir, load=load: urls.append(url) or load,
            session=FakeSession(),
            provider_factory=lambda target, system=system, **kw: FakeProvider(system),
            clock=clock,
            served_region_factory=lambda url, plan: sampled.append(url) or FakeSampler(),
        )
        engine.progress.enabled = False
        journals.append(engine.run())
    # The regional URL can only recover by reverting the fault; the failover name is what fails over.
    assert urls == ["https://api.staging.example", FakeSession.api_url]
    # Which region answered the clients' path each second is in the region drill's journal, for the report.
    assert sampled == ["https://api.staging.example"]
    assert journals[0].served_by == FakeSampler.SERVED and journals[1].served_by == {}


class FakeSampler:
    SERVED = {1_000_010: "ap-northeast-2", 1_000_011: "no answer (HTTP 429)", 1_000_012: "ap-northeast-1"}

    def start(self) -> None:
        pass

    def stop(self) -> dict[int, str]:
        return dict(self.SERVED)
