"""The engine against a simulated system: a fake provider whose faults change what a fake load sees.

Time is simulated (one poll = one second), so these tests are fast and exact.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import ClassVar

import pytest

from chaos.targets import AwsTarget
from loadtests.records import SecondSample, new_histogram
from scenarios.engine import DrillEngine
from scenarios.models import Config, resolve
from verify.journal import Journal, RunStatus

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


class SlotProvider:
    """Each injection snapshots what it replaces: a second fault of one action snapshots the first's doing."""

    name: ClassVar[str] = "slots"
    supported_actions: ClassVar[frozenset[str]] = frozenset(
        {"lambda.add-latency", "lambda.deploy-bad-version", "lambda.rollback", "lambda.update-config"}
    )

    def __init__(self, system: SlotSystem) -> None:
        self.system = system

    def preflight(self, calls):
        return []

    def plan(self, call):
        return []

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

    def alarm_times(self, since):
        return {}

    def close(self):
        pass


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


# ---- detection as the on-call sees it (issue 18) ---------------------------------------------------------------

# lambda-failure in the full profile (time scale 1) with the manual's alarm: error rate > 5 % over a 300 s
# period, read 60 s after the period, evaluated every minute. The fault lands at inject_start = start + 2 s
# warm-up + 60 s baseline; `start` puts it where a test wants it in a 300 s period.
FULL = {"rto": 300.0, "baseline": 60.0, "sustained": 60.0, "max_duration": 600.0, "detection": {}}


def full_profile_run(tmp_path: Path, fault_offset: int):
    fault_at = 1_000_200 + fault_offset  # 1,000,200 is a multiple of 300 (and 60)
    return run(tmp_path, start=fault_at - 62.0, **FULL)


def test_the_manuals_alarm_pages_minutes_after_a_total_outage_and_the_rto_check_uses_it(tmp_path: Path) -> None:
    from verify.alarm_worst_case import detection_bounds
    from verify.slo import AlarmRule

    journal, system, _ = full_profile_run(tmp_path, fault_offset=0)
    earliest, latest = (lambda b: (b.earliest_s, b.latest_s))(detection_bounds(AlarmRule(), 1.0))
    assert (earliest, latest) == (76, 375)  # what `plan` prints for this alarm
    # The fault at the start of a period: its period is read at +300 + 60 = +360 s, on the minute.
    assert journal.first_bad_s == 0.0 and journal.detection_s == 360.0
    assert earliest <= journal.detection_s <= latest and journal.detected_by == "cloudwatch model"
    rollback = journal.remediations[-1]
    assert rollback.action == "lambda.rollback" and rollback.started_at >= journal.detected_at
    # Recovery starts after the rollback the alarm triggered: past the 5-minute RTO.
    assert journal.recovery_s == pytest.approx(361.0, abs=1.0)
    checks = {c.name: c for c in journal.checks}
    assert not checks["rto"].passed and checks["rto"].value > 300
    assert checks["detection"].value == 360.0
    assert "first bad second +0.0 s" in checks["detection"].detail and "alarm +360.0 s" in checks["detection"].detail
    assert journal.status is RunStatus.FAILED and system.rollbacks == 1


def test_the_same_outage_late_in_a_period_is_paged_sooner_and_meets_the_rto(tmp_path: Path) -> None:
    journal, _, _ = full_profile_run(tmp_path, fault_offset=284)
    assert journal.detection_s == 76.0  # 16 of 300 s failed (5.3 %): read at 360, 76 s after the fault
    assert journal.recovery_s == pytest.approx(77.0, abs=1.0)
    assert {c.name: c.passed for c in journal.checks}["rto"]


class AlarmingProvider(FakeProvider):
    """A target with its own alarm, which goes to ALARM 30 s after the fault."""

    fired_after_s: ClassVar[float] = 30.0
    asked: ClassVar[list] = []

    def alarm_times(self, since):
        AlarmingProvider.asked.append(since)
        now = self.system.clock.now
        return {"errors": since + self.fired_after_s if now >= since + self.fired_after_s else None}


def test_a_target_with_its_own_alarm_is_detected_when_that_alarm_fires(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(AlarmingProvider, "asked", [])
    system = SimSystem()
    system.clock = SimClock(1_000_000.0)  # the provider reads the simulated time through the system
    clock = system.clock
    load = FakeLoad(system, clock)
    # A target that names its own alarm: the drill reads it instead of trusting its model.
    plan = plan_for()
    plan = plan.model_copy(update={"target": AwsTarget(api_url="https://api.example.com", alarm_names=["errors"])})
    engine = DrillEngine(plan, tmp_path / "run", load_factory=lambda url, plan, run_dir: load,
                         session=FakeSession(), provider_factory=lambda target, **kw: AlarmingProvider(system),
                         clock=clock)
    engine.progress.enabled = False
    journal = engine.run()
    # The model (2 s periods, no delay) would page at +1-2 s; the rollback waited for the target's alarm.
    assert journal.detected_by == "alarm errors" and journal.detection_s == 30.0
    assert journal.alarm_times == {"errors": journal.fault_at + 30.0}
    assert journal.remediations[-1].started_at >= journal.fault_at + 30.0
    detection = {c.name: c for c in journal.checks}["detection"]
    assert detection.value == 30.0 and "the cloudwatch model would have paged at +" in detection.detail
    assert all(since == journal.fault_at for since in AlarmingProvider.asked) and len(AlarmingProvider.asked) >= 3


class SaturatedLoad(FakeLoad):
    """A starved load generator: every second it reports itself saturated."""

    def poll(self, timeout: float) -> list[SecondSample]:
        from loadtests.records import GeneratorHealth

        busy = GeneratorHealth(cpu_percent=100.0, loop_lag_ms=80.0, saturated=True)
        return [s.model_copy(update={"generator": busy}) for s in super().poll(timeout)]


def test_a_saturated_generator_makes_the_latency_checks_inconclusive(tmp_path: Path) -> None:
    from scenarios.drill_commands import Outcome, judge

    checks = ["slo-baseline", "detection", "rto", "slo-after-recovery"]
    journal, _, _ = run(tmp_path, load_class=SaturatedLoad, checks=checks)
    verdicts = {c.name: c.verdict.value for c in journal.checks}
    assert verdicts == {"slo-baseline": "inconclusive", "detection": "passed", "rto": "passed",
                        "slo-after-recovery": "inconclusive"}
    baseline = journal.checks[0]
    assert not baseline.passed and "load generator was saturated in 5 of 5 s of the baseline window" in baseline.detail
    assert journal.status is RunStatus.INCONCLUSIVE and journal.reason.startswith("inconclusive: slo-baseline (")
    outcome, code = judge(journal, None)
    assert (outcome, int(code)) == (Outcome.INCONCLUSIVE, 1)


def test_samples_go_to_series_jsonl_and_journal_json_stays_small(tmp_path: Path) -> None:
    import json

    journal, _, _ = run(tmp_path)
    run_dir = tmp_path / "run"
    assert "series" not in json.loads((run_dir / "journal.json").read_text())
    lines = (run_dir / "series.jsonl").read_text().splitlines()
    assert [json.loads(line)["t"] for line in lines] == [s.t for s in journal.series]  # each once, in order
    assert Journal.load(run_dir / "journal.json").series == journal.series


def test_a_drill_that_recovers_before_the_alarm_pages_runs_on_until_it_does(tmp_path: Path) -> None:
    # The fault is undone 1 s after it (as the bundled edge fails over on its own); the alarm's 10 s period
    # is read 2 s after it ends. The drill waits for the alarm instead of ending at recovery + sustained.
    journal, _, load = run(
        tmp_path,
        start=1_000_053.0,  # 2 s warm-up + 5 s baseline: the fault lands at 1,000,060, a period's start
        remediation=[{"action": "revert-fault", "when": "after-fault", "delay": 1.0, "params": {"fault": "bad"}}],
        detection={"period_s": 10.0, "metric_delay_s": 2.0},
        checks=["detection", "rto"],
    )
    assert journal.fault_at == 1_000_060.0 and journal.recovered_at < journal.detected_at
    # 1 or 2 of the period's 10 s failed (> 5 %): read at 1,000,072, evaluated every 10 s: at 1,000,080.
    assert journal.detection_s == 20.0 and journal.status is RunStatus.PASSED, journal.reason
    assert load.polls >= 7 + 20


def test_an_alarm_that_never_fires_lets_the_drill_end_at_its_horizon(tmp_path: Path) -> None:
    from verify.detection_models import detection_horizon_s
    from verify.slo import AlarmRule

    # errors never reach 5 % of a period (the alarm's threshold is 100 %): the drill stops waiting after
    # the horizon, (3 + 1) x 10 + 2 + 10 = 52 s, not at its deadline.
    journal, _, load = run(
        tmp_path,
        remediation=[{"action": "revert-fault", "when": "after-fault", "delay": 1.0, "params": {"fault": "bad"}}],
        detection={"period_s": 10.0, "metric_delay_s": 2.0, "error_rate_above": 1.0},
        checks=["detection", "rto"],
        max_duration=200.0,
    )
    horizon = detection_horizon_s(AlarmRule(period_s=10.0, metric_delay_s=2.0))
    assert horizon == 52.0
    assert journal.detected_at is None and journal.status is RunStatus.FAILED
    assert 7 + horizon <= load.polls <= 7 + horizon + 3  # 2 s warm-up and 5 s baseline before the fault


class WritingLoad(FakeLoad):
    """A load that wrote one todo, signed in its own way (a Cognito token the API's /auth never issued)."""

    def ledger_records(self):
        from loadtests.records import LedgerRecord, WriteOp, WriteOutcome

        return [LedgerRecord(op=WriteOp.CREATE, id=f"{LOAD_PREFIX}w0-1", user="hanbit-drill-00000", sent_at=1.0,
                             completed_at=1.5, outcome=WriteOutcome.ACKNOWLEDGED, title="t")]

    def accounts(self):
        return [("hanbit-drill-00000", "pw")]

    def tokens(self):
        return {"hanbit-drill-00000": "cognito-id-token"}


def test_the_read_back_uses_the_loads_tokens_and_only_this_runs_ids(tmp_path: Path, monkeypatch) -> None:
    from verify.integrity import Observation

    seen: dict = {}

    def read_back(url, accounts, probe, **kw):
        seen.update(kw, accounts=accounts, probe=probe)
        return Observation(users=[a for a, _ in accounts])

    monkeypatch.setattr("verify.readback.read_back", read_back)
    journal, _, _ = run(tmp_path, load_class=WritingLoad, checks=["slo-baseline", "rto", "integrity"])
    assert seen["tokens"] == {"hanbit-drill-00000": "cognito-id-token"}
    assert seen["id_prefix"] == LOAD_PREFIX
    assert seen["probe"] == {"hanbit-drill-00000": {f"{LOAD_PREFIX}w0-1"}}
    assert journal.ledger is not None and journal.ledger.lost == 1  # nothing read back: the write is lost


# ---- one drill at a time per target (the lease) ---------------------------------------------------


def engine_on(tmp_path: Path, name: str, target_dir: Path, system: SimSystem | None = None, **changes) -> DrillEngine:
    clock, system = SimClock(), system or SimSystem()
    session = FakeSession()
    session.lease_dir = target_dir
    engine = DrillEngine(plan_for(**changes), tmp_path / "suite" / name, session=session,
                         load_factory=lambda url, plan, run_dir: FakeLoad(system, clock),
                         provider_factory=lambda target, **kw: FakeProvider(system), clock=clock)
    engine.progress.enabled = False
    return engine


def test_a_second_drill_on_the_target_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    from chaos.lease import TargetLease
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    holder = TargetLease(LockFileLeaseStore(target_dir), "local", "20250615-120000/lambda-failure")
    holder.acquire()  # another harness's drill, live
    system = SimSystem()
    journal = engine_on(tmp_path, "second", target_dir, system).run()
    assert journal.status is RunStatus.ERROR
    assert "target 'local' is held by" in journal.reason and "run 20250615-120000/lambda-failure) since" in journal.reason
    assert system.injections == 0 and not journal.phases  # refused before the preflight
    assert holder.holder() == holder.record  # its lease untouched


def test_the_lease_is_held_through_the_drill_and_released_after_the_last_revert(tmp_path: Path) -> None:
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    store = LockFileLeaseStore(target_dir)
    held_when: list[bool] = []

    class WatchingProvider(FakeProvider):
        def inject(self, call):
            held_when.append(store.read() is not None and store.read().run_id == "suite/first")
            return super().inject(call)

        def revert(self, call, undo):
            held_when.append(store.read() is not None)
            super().revert(call, undo)

    system = SimSystem()
    engine = engine_on(tmp_path, "first", target_dir, system)
    engine.provider_factory = lambda target, **kw: WatchingProvider(system)
    journal = engine.run()
    assert journal.status is RunStatus.PASSED, journal.reason
    assert held_when == [True, True]
    assert store.read() is None  # released: the next drill may run
    assert engine_on(tmp_path, "next", target_dir).run().status is RunStatus.PASSED


def test_a_lapsed_lease_is_taken_over_and_reported(tmp_path: Path, capsys) -> None:
    from chaos.lease import LeaseRecord
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    LockFileLeaseStore(target_dir).create(LeaseRecord(
        owner="ci@runner-7", host="runner-7", pid=1, run_id="killed", acquired_at=1.0, expires_at=2.0, token="t"))
    journal = engine_on(tmp_path, "after", target_dir).run()
    assert journal.status is RunStatus.PASSED, journal.reason
    err = capsys.readouterr().err
    assert "took over the lease on 'local' of ci@runner-7 (pid 1, run killed)" in err and "expired" in err


def test_a_lost_lease_stops_the_drill_and_reverts_its_fault(tmp_path: Path) -> None:
    from chaos.lease import LeaseLostError

    system = SimSystem()
    engine = engine_on(tmp_path, "lost", tmp_path / "service-data", system)

    class LosingLoad(FakeLoad):
        def poll(self, timeout):
            if system.injections and engine.lease is not None:
                engine.lease.lost = "target 'local': this run's lease is gone; it is now held by bob"
            return super().poll(timeout)

    engine.load_factory = lambda url, plan, run_dir: LosingLoad(system, engine.clock)
    journal = engine.run()
    assert journal.status is RunStatus.ERROR and "now held by bob" in journal.reason
    assert isinstance(engine.error, LeaseLostError)
    assert system.injections == 1 and system.reverts == 1 and not system.broken
