"""resolve(): one scenario for one profile and target, merged, validated and scaled."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InvalidInputError
from loadtests.plan import LoadModel, ShapeKind
from scenarios.loader import load_config
from scenarios.models import LOAD_ALLOWANCE_S, Config, StopMetric, Trigger, resolve

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def config() -> Config:
    return load_config(FIXTURES / "valid.yaml")


def test_time_scale_shrinks_every_wait_and_limit(config: Config) -> None:
    full = resolve(config, "lambda-failure", "full", "local")
    smoke = resolve(config, "lambda-failure", "smoke", "local")
    assert (full.rto_s, full.baseline_s, full.sustained_s, full.max_duration_s) == (300, 60, 60, 600)
    assert (smoke.rto_s, smoke.baseline_s, smoke.sustained_s, smoke.max_duration_s) == pytest.approx((30, 6, 6, 60))
    assert smoke.rpo_s == 0
    assert smoke.faults[0].at_s == pytest.approx(1.0)
    assert [r.delay_s for r in smoke.remediations] == pytest.approx([2.0, 24.0])
    assert [s.for_s for s in smoke.stop_conditions] == pytest.approx([18.0, 3.0])
    assert smoke.detection.period_s == pytest.approx(30.0)
    assert full.detection.period_s == 300.0
    assert smoke.load.shape.ramp_s == pytest.approx(2.0)  # shape timings are waits too


def test_load_is_merged_defaults_then_profile_then_scenario(config: Config) -> None:
    smoke = resolve(config, "lambda-failure", "smoke", "local")
    assert smoke.load.model is LoadModel.OPEN
    assert (smoke.load.rps, smoke.load.workers, smoke.load.accounts) == (200, 1, 50)
    assert smoke.load.shape.kind is ShapeKind.RAMP  # nested keys of defaults survive a partial override
    full = resolve(config, "lambda-failure", "full", "local")
    assert (full.load.rps, full.load.workers) == (1000, 2)
    closed = resolve(config, "local-only", "full", "local")
    assert (closed.load.model, closed.load.users, closed.load.think_time_s) == (LoadModel.CLOSED, 20, 0.5)


def test_load_outlasts_the_drill_unless_bounded(config: Config) -> None:
    smoke = resolve(config, "lambda-failure", "smoke", "local")
    assert smoke.load.duration_s == pytest.approx(6 + 60 + LOAD_ALLOWANCE_S)
    bounded = resolve(config, "local-only", "smoke", "local")
    assert bounded.load.duration_s == pytest.approx(12.0)  # the file's 2m, scaled


def test_slo_and_detection_are_partial_overrides(config: Config) -> None:
    plan = resolve(config, "local-only", "full", "local")
    assert (plan.slo.p90_ms, plan.slo.min_rps) == (200, 5)
    assert plan.detection.error_rate_above is None
    assert plan.detection.latency_ms_above == 1000


def test_plan_carries_calls_triggers_stops_and_expectation(config: Config) -> None:
    plan = resolve(config, "lambda-failure", "full", "local")
    assert plan.target_name == "local" and plan.target.kind == "bundled"
    assert [c.name for c in plan.setup] == ["table.backup"]
    assert [(f.id, f.call.name) for f in plan.faults] == [("bad-deploy", "lambda.deploy-bad-version")]
    assert [(r.call.name, r.when) for r in plan.remediations] == [
        ("lambda.rollback", Trigger.ON_DETECTION), ("revert-fault", Trigger.AFTER_FAULT)]
    assert plan.remediations[1].by_engine and not plan.remediations[0].by_engine
    assert [(s.metric, s.threshold) for s in plan.stop_conditions] == [
        (StopMetric.ERROR_RATE_ABOVE, 0.95), (StopMetric.RPS_BELOW, 10)]
    # engine-level actions are not the provider's business
    assert [c.name for c in plan.provider_calls()] == ["table.backup", "lambda.deploy-bad-version", "lambda.rollback"]
    assert not plan.expected_to_fail
    negative = resolve(config, "negative-control", "full", "local")
    assert negative.expected_to_fail
    assert [c.name for c in negative.provider_calls()] == ["table.backup", "lambda.deploy-bad-version"]  # `never` is not run


def test_stop_condition_breach_direction(config: Config) -> None:
    errors, rps = resolve(config, "lambda-failure", "full", "local").stop_conditions
    assert errors.breached(0.96) and not errors.breached(0.95)
    assert rps.breached(9) and not rps.breached(10)


def test_plan_round_trips_through_json(config: Config) -> None:
    plan = resolve(config, "lambda-failure", "smoke", "local")
    assert type(plan).model_validate_json(plan.model_dump_json()) == plan


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lambda-failur", "smoke", "local"), "unknown scenario 'lambda-failur' (did you mean 'lambda-failure'?); "
                                              "the file has: lambda-failure, negative-control, local-only"),
        (("lambda-failure", "smoek", "local"), "unknown profile 'smoek' (did you mean 'smoke'?); the file has: smoke, full"),
        (("lambda-failure", "smoke", "prod"), "unknown target 'prod'; the file has: local, staging"),
        (("local-only", "smoke", "staging"), "scenario 'local-only' does not run on target 'staging' (its targets: local)"),
        (("lambda-failure", "smoke", "staging"), "target 'staging' is protected: pass --allow-protected to run against it"),
    ],
)
def test_bad_names_and_protected_targets_are_invalid_input(config: Config, args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve(config, *args)
    assert str(caught.value) == message


def test_protected_target_with_permission(config: Config) -> None:
    plan = resolve(config, "lambda-failure", "smoke", "staging", allow_protected=True)
    assert plan.target.kind == "aws" and plan.target.protected


def test_suite_defaults_to_every_scenario(config: Config) -> None:
    assert config.suite("smoke") == ["lambda-failure"]
    assert config.suite("full") == ["lambda-failure", "negative-control", "local-only"]
