"""The engine pages as the on-call is paged (issue 18): alarm times, the target's own alarm, inconclusive
verdicts, series.jsonl, waiting for the alarm, the read-back."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from engine_sim import (  # the simulated system (tests/scenarios/engine_sim.py)
    LOAD_PREFIX,
    FakeLoad,
    FakeProvider,
    FakeSession,
    SimClock,
    SimSystem,
    plan_for,
    run,
)

from chaos.targets import AwsTarget
from loadtests.records import SecondSample
from scenarios.engine import DrillEngine
from verify.journal import Journal, RunStatus

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
