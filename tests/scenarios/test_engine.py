"""The engine against a simulated system: a fake provider whose faults change what a fake load sees.

Time is simulated (one poll = one second), so these tests are fast and exact.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import ClassVar

import pytest

from loadtests.records import SecondSample, new_histogram
from scenarios.engine import DrillEngine
from scenarios.journal import Journal, RunStatus
from scenarios.models import Config, resolve

YAML_SCENARIO = {
    "description": "bad deploy",
    "rto": 20.0,
    "rpo": 0.0,
    "baseline": 5.0,
    "sustained": 3.0,
    "max_duration": 40.0,
    "faults": [{"id": "bad", "action": "lambda.deploy-bad-version"}],
    "remediation": [{"action": "lambda.rollback", "when": "on-detection"}],
    "detection": {"period_s": 2.0},
    "checks": ["slo-baseline", "detection", "rto"],
}


class SimClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class SimSystem:
    """The 'running system': faults the fake provider applies make the fake load fail."""

    def __init__(self) -> None:
        self.broken = False
        self.injections = 0
        self.reverts = 0
        self.rollbacks = 0


class FakeProvider:
    name: ClassVar[str] = "fake"
    supported_actions: ClassVar[frozenset[str]] = frozenset({"lambda.deploy-bad-version", "lambda.rollback"})

    def __init__(self, system: SimSystem) -> None:
        self.system = system

    def preflight(self, calls):
        return []

    def plan(self, call):
        return []

    def inject(self, call):
        self.system.broken = True
        self.system.injections += 1
        return {"previous_version": "1"}

    def revert(self, call, undo):
        self.system.broken = False
        self.system.reverts += 1

    def remediate(self, call, context):
        self.system.broken = False
        self.system.rollbacks += 1
        return {"to": context.undo_by_action["lambda.deploy-bad-version"]["previous_version"]}

    def close(self):
        pass


class FakeLoad:
    def __init__(self, system: SimSystem, clock: SimClock, interrupt_at: int | None = None) -> None:
        self.system, self.clock, self.interrupt_at = system, clock, interrupt_at
        self.polls = 0
        self.stopped = False

    def start(self) -> None:
        pass

    def poll(self, timeout: float) -> list[SecondSample]:
        self.polls += 1
        if self.interrupt_at is not None and self.polls == self.interrupt_at:
            raise KeyboardInterrupt
        t = int(self.clock.now)
        self.clock.now += 1.0
        hist = new_histogram()
        for _ in range(100):
            hist.record_value(20_000)  # 20 ms
        failures = {"http_502": 100} if self.system.broken else {}
        return [SecondSample(t=t, requests=100, failures=failures, histogram=hist.encode().decode(), p90_ms=20)]

    def stop(self) -> None:
        self.stopped = True

    def ledger_records(self):
        return []

    def accounts(self):
        return []


class FakeSession:
    api_url = "http://127.0.0.1:9"
    service_pid = None
    data_dir = None

    def start(self, run_dir: Path) -> None:
        pass

    def provider_runtime(self):
        return {}

    def close(self) -> None:
        pass


def plan_for(**changes):
    scenario = {**YAML_SCENARIO, **changes}
    config = Config.model_validate(
        {
            "version": 1,
            "profiles": {"smoke": {"time_scale": 1.0}},
            "defaults": {"load": {"rps": 100}},
            "scenarios": {"drill": scenario},
        }
    )
    return resolve(config, "drill", "smoke", "local")


def run(tmp_path: Path, interrupt_at: int | None = None, **changes) -> tuple[Journal, SimSystem, FakeLoad]:
    clock, system = SimClock(), SimSystem()
    load = FakeLoad(system, clock, interrupt_at)
    engine = DrillEngine(
        plan_for(**changes),
        tmp_path / "run",
        load_factory=lambda url, plan, run_dir: load,
        session=FakeSession(),
        provider_factory=lambda target, **kw: FakeProvider(system),
        clock=clock,
    )
    engine.progress.enabled = False
    journal = engine.run()
    return journal, system, load


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
