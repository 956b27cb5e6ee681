"""A simulated system for engine tests: a fake provider whose faults change what a fake load sees.

Time is simulated (one poll = one second), so the engine tests are fast and exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from loadtests.records import SecondSample, new_histogram
from scenarios.engine import DrillEngine
from scenarios.models import Config, resolve
from verify.journal import Journal

YAML_SCENARIO = {
    "description": "bad deploy",
    "rto": 20.0,
    "rpo": 0.0,
    "baseline": 5.0,
    "sustained": 3.0,
    "max_duration": 40.0,
    "faults": [{"id": "bad", "action": "lambda.deploy-bad-version"}],
    "remediation": [{"action": "lambda.rollback", "when": "on-detection"}],
    # A 2 s alarm read as soon as its period ends: pages 1-2 s after the fault (the manual's alarm: below).
    "detection": {"period_s": 2.0, "metric_delay_s": 0},
    "checks": ["slo-baseline", "detection", "rto"],
}


LOAD_PREFIX = "3fa2b1c0-"  # what every todo id of the fake load's run begins with


class SimClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

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
        return {"to": context.fault("bad").undo["previous_version"]}

    def alarm_times(self, since):
        return {}  # names no alarm of its own: the drill's alarm model pages

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

    def id_prefix(self):
        return LOAD_PREFIX


class FakeSession:
    api_url = "http://127.0.0.1:9"
    service_pid = None
    data_dir = None
    lease_dir: Path | None = None  # where the target's lease is kept (default: beside the run)

    def start(self, run_dir: Path) -> None:
        self.lease_dir = self.lease_dir or run_dir.parent / "target"

    def provider_runtime(self):
        return {}

    def lease_store(self):
        from chaos.local.lease_store import LockFileLeaseStore

        return LockFileLeaseStore(self.lease_dir)

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


def run(
    tmp_path: Path, interrupt_at: int | None = None, system=None, provider=FakeProvider, *,
    start: float = 1_000_000.0, load_class=None, **changes
) -> tuple[Journal, SimSystem, FakeLoad]:
    clock, system = SimClock(start), system or SimSystem()
    load = (load_class or FakeLoad)(system, clock, interrupt_at)
    engine = DrillEngine(
        plan_for(**changes),
        tmp_path / "run",
        load_factory=lambda url, plan, run_dir: load,
        session=FakeSession(),
        provider_factory=lambda target, **kw: provider(system),
        clock=clock,
    )
    engine.progress.enabled = False
    journal = engine.run()
    return journal, system, load
