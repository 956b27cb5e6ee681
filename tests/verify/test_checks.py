import pytest

from common.errors import ScenarioFileError
from scenarios.loader import parse_config
from scenarios.models import Scenario, resolve
from verify.checks import CHECKS, CheckName, default_checks, evaluate, needs_ledger
from verify.demo import demo_journal
from verify.drill import drill_timings, drill_windows
from verify.journal import CheckRecord, FaultRecord, Journal, LedgerSummary, PhaseName, PhaseRecord
from verify.slo import AlarmRule, Slo
from verify.synthetic import Segment, SeriesSpec, build_series

T0 = 1_700_000_000


def journal(segments=(), seconds=90, fault_at=T0 + 20.0, **kw):
    series = build_series(SeriesSpec(T0, seconds, rps=50, segments=list(segments)))
    faults = [] if fault_at is None else [FaultRecord(
        id="f", action="lambda.deploy-bad-version", provider="local", target="local",
        intended_at=fault_at, injected_at=fault_at)]
    base = dict(run_id="r", scenario="lambda-failure", profile="smoke", target="local", started_at=T0,
                time_scale=0.05, rto_s=15.0, sustained_s=10.0, alarm=AlarmRule().scaled(0.05), fault_at=fault_at,
                faults=faults, series=series)
    base.update(kw)
    return Journal(**base)


def by_name(checks):
    return {c.name: c for c in checks}


def test_outage_from_20_to_31_recovers_in_11_s_within_the_rto():
    j = journal([Segment(20, 31, error_rate=1.0)])
    checks = by_name(evaluate(j))
    assert list(checks) == ["slo-baseline", "detection", "rto", "slo-after-recovery"]
    assert checks["rto"].passed and checks["rto"].value == pytest.approx(11, abs=1)
    # The smoke alarm: 15 s periods on the clock (T0 is 5 s past a boundary, so [T0+10, T0+25) holds the
    # fault with 5 of 15 s failed), read 3 s after the period at T0+28, itself an evaluation (every 3 s).
    assert checks["detection"].passed and checks["detection"].value == pytest.approx(8)
    assert "first bad second +0.0 s" in checks["detection"].detail and "alarm +8.0 s" in checks["detection"].detail
    assert checks["slo-baseline"].passed and checks["slo-after-recovery"].passed


def test_recovery_slower_than_the_rto_fails():
    checks = by_name(evaluate(journal([Segment(20, 31, error_rate=1.0)], rto_s=8.0)))
    assert not checks["rto"].passed and checks["rto"].limit == 8.0


def test_a_drill_that_never_recovers_fails_with_the_reason():
    checks = by_name(evaluate(journal([Segment(20, 90, error_rate=0.3)])))
    assert not checks["rto"].passed and "never recovered" in checks["rto"].detail
    assert not checks["slo-after-recovery"].passed and "no after-recovery window" in checks["slo-after-recovery"].detail


def test_flapping_after_recovery_breaks_the_after_recovery_slo():
    checks = by_name(evaluate(journal([Segment(20, 31, error_rate=1.0), Segment(60, 62, error_rate=0.5)])))
    assert checks["rto"].passed
    assert not checks["slo-after-recovery"].passed and "error rate" in checks["slo-after-recovery"].detail


def test_checks_that_need_a_fault_fail_without_one():
    j = journal(fault_at=None)
    assert [c.name for c in evaluate(j)] == ["slo-baseline"]
    checks = by_name(evaluate(j, checks=["detection", "rto"]))
    assert not checks["detection"].passed and checks["detection"].detail == "no fault was injected"
    assert not checks["rto"].passed


def test_availability_over_the_whole_drill():
    j = journal([Segment(20, 31, error_rate=1.0)], phases=[PhaseRecord(name=PhaseName.BASELINE, started_at=T0 + 10)])
    check = evaluate(j, checks=[CheckName.AVAILABILITY])[0]
    assert check.value == pytest.approx(69 / 80)  # 80 s judged from the baseline phase, 11 unhealthy
    assert not check.passed
    assert evaluate(j, Slo(availability=0.8), checks=["availability"])[0].passed


def test_empty_baseline_and_zero_traffic_fail():
    no_baseline = journal([Segment(0, 5, error_rate=1.0)], fault_at=float(T0))
    assert "empty window" in by_name(evaluate(no_baseline))["slo-baseline"].detail
    silent = journal(fault_at=None, series=[])
    check = evaluate(silent)[0]
    assert not check.passed and "empty window" in check.detail


def test_rpo_and_integrity_from_the_ledger():
    lost = LedgerSummary(writes=60, acknowledged=58, lost=7, unknown=2, rpo_s=12.5, lost_ids=["u/a"] * 7)
    checks = by_name(evaluate(journal(ledger=lost, rpo_s=30.0)))
    assert checks["rpo"].passed and checks["rpo"].value == 12.5 and "7 lost" in checks["rpo"].detail
    assert not by_name(evaluate(journal(ledger=lost, rpo_s=10.0)))["rpo"].passed
    assert not by_name(evaluate(journal(ledger=lost)))["rpo"].passed  # no RPO set: nothing may be lost
    corrupt = LedgerSummary(acknowledged=5, corrupted=1, corrupted_ids=["u/x"])
    assert not by_name(evaluate(journal(ledger=corrupt)))["integrity"].passed
    missing = by_name(evaluate(journal(rpo_s=5.0)))
    assert not missing["rpo"].passed and missing["rpo"].detail == "no write ledger was read back"


def test_windows_split_at_the_fault_and_the_recovery():
    j = journal([Segment(20, 31, error_rate=1.0)])
    windows = drill_windows(j)
    assert (windows.baseline.start_t, windows.baseline.end_t) == (T0, T0 + 20)
    assert (windows.during_fault.start_t, windows.during_fault.end_t) == (T0 + 20, T0 + 31)
    assert windows.during_fault.error_rate == 1.0 and windows.during_fault.availability == 0.0
    assert windows.after_recovery.start_t == T0 + 31 and windows.after_recovery.end_t == T0 + 90
    assert windows.whole.seconds == 90


def test_final_timings_match_the_demo_journal():
    demo = demo_journal(T0)
    timings = drill_timings(demo)
    assert demo.recovery_s == timings.recovery_s == pytest.approx(22.7, abs=0.01)
    assert demo.ledger.lost > 0 and demo.ledger.rpo_s > 0


# ---- the registry: every check is usable from a scenario file by its entry alone -------------


def scenario_file(name: str, *, with_needs: bool = True) -> str:
    """A file with one scenario `drill` naming one check, with (or without) what the check needs."""
    needs = CHECKS[name].needs
    lines = ["version: 1", "defaults:", "  load: {rps: 100}", "profiles:", "  smoke: {}", "scenarios:", "  drill:"]
    if with_needs:
        lines += [f"    {needs.objective}: 30s"] if needs.objective else []
        lines += ["    max_duration: 2m", "    faults: [{action: lambda.deploy-bad-version}]"] if needs.fault else []
    else:
        lines += ["    baseline: 0s"]
    return "\n".join(lines + [f"    checks: [{name}]", ""])


def test_the_registry_is_the_one_list_of_check_names() -> None:
    assert [c.value for c in CheckName] == list(CHECKS)
    for name, check in CHECKS.items():
        assert check.name == name and check.description
        if check.needs.objective is not None:  # the loader reads it off the scenario, as a duration
            assert Scenario(**{check.needs.objective: "5m"}).model_dump()[check.needs.objective] == 300.0


@pytest.mark.parametrize("name", list(CHECKS))
def test_every_registered_check_is_usable_from_a_scenario_file(name: str) -> None:
    plan = resolve(parse_config(scenario_file(name)), "drill", "smoke", "local")
    assert plan.checks == [name]
    assert needs_ledger(plan.checks) is CHECKS[name].needs.ledger
    [record] = evaluate(demo_journal(T0), plan.slo, plan.detection, plan.checks)
    assert record.name == name and record.model_dump()["name"] == name
    assert CheckRecord.model_validate_json(record.model_dump_json()) == record


@pytest.mark.parametrize("name", [n for n, c in CHECKS.items() if c.needs.objective or c.needs.fault or c.needs.baseline])
def test_the_loader_asks_for_what_a_check_needs(name: str) -> None:
    needs = CHECKS[name].needs
    expected = [f"check {name!r} needs `{needs.objective}:` (a duration)"] if needs.objective else []
    expected += [f"check {name!r} needs at least one fault"] if needs.fault else []
    expected += [f"check {name!r} needs a baseline longer than 0s"] if needs.baseline else []
    with pytest.raises(ScenarioFileError) as caught:
        parse_config(scenario_file(name, with_needs=False), "f.yaml")
    assert [p.split("scenarios.drill.checks[0]: ", 1)[1] for p in caught.value.problems] == expected


def test_default_checks_are_those_whose_needs_the_journal_meets() -> None:
    assert default_checks(journal(fault_at=None)) == ["slo-baseline"]
    assert default_checks(journal()) == ["slo-baseline", "detection", "rto", "slo-after-recovery"]
    assert default_checks(journal(fault_at=None, rpo_s=5.0)) == ["slo-baseline", "rpo", "integrity"]


def test_the_ledger_is_read_back_for_the_checks_that_judge_it() -> None:
    assert needs_ledger(["slo-baseline", "integrity"]) and needs_ledger(["rpo"])
    assert not needs_ledger(["slo-baseline", "detection", "rto", "slo-after-recovery", "availability"])


def test_an_unknown_check_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown check 'recovery' \\(known: slo-baseline, detection"):
        evaluate(journal(), checks=["recovery"])
