"""AWS targets through the CLI (issue 17): the default profile per kind, the time-scale refusal, the effective
waits and AWS's propagation times in `plan`, region drills on failover_url, guard alarms only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from common.errors import ScenarioFileError
from scenarios import drill_commands
from scenarios.cli import main
from scenarios.loader import parse_config
from scenarios.target_kinds import KINDS, provider_at

SHIPPED = Path(__file__).parents[2] / "scenarios.yaml"


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(SHIPPED, tmp_path / "scenarios.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "scenarios.yaml"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list:
    """The plans `run` would start (nothing is started)."""
    plans: list = []
    monkeypatch.setattr(drill_commands, "run_drills", lambda p, *a, **k: plans.extend(p) or [])
    return plans


def test_run_refuses_the_smoke_profile_on_staging_with_the_reason(shipped, started, capsys) -> None:
    assert main(["run", "--target", "staging", "--profile", "smoke", "--allow-protected"]) == 2
    err = capsys.readouterr().err
    assert started == []
    assert "lambda-failure: profile 'smoke' scales every wait by 0.05, below the 1 target 'staging' allows" in err
    assert (
        "detection period is 15s after scaling, but CloudWatch receives Lambda and API Gateway metrics once a minute"
        in err
    )
    assert "table-corruption: " in err and "typically 5 minutes before now" in err
    assert "pass --force-time-scale" in err


def test_force_time_scale_runs_it_anyway(shipped, started) -> None:
    assert (
        main(
            [
                "run",
                "lambda-failure",
                "--target",
                "staging",
                "--profile",
                "smoke",
                "--allow-protected",
                "--force-time-scale",
            ]
        )
        == 0
    )
    assert [(p.scenario, p.time_scale) for p in started] == [("lambda-failure", 0.05)]


def test_an_aws_target_defaults_to_the_staging_profile_a_bundled_one_to_smoke(shipped, started) -> None:
    assert main(["run", "--target", "staging", "--allow-protected"]) == 0
    assert [(p.scenario, p.profile, p.time_scale) for p in started] == [
        ("lambda-failure", "staging", 1.0),
        ("table-corruption", "staging", 1.0),
        ("region-outage", "staging", 1.0),
    ]
    started.clear()
    assert main(["run", "lambda-failure"]) == 0
    assert [(p.profile, p.target_name) for p in started] == [("smoke", "local")]


def test_plan_prints_the_effective_waits_and_what_aws_needs_longer(shipped, capsys) -> None:
    assert main(["plan", "table-corruption", "--target", "staging", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "waits (after time_scale 0.05):" in out
    assert "  rto                    1m30s  (30m in the file)" in out
    assert "  warning: rto is 1m30s after scaling, but point-in-time recovery can restore only up to" in out
    assert "  warning: `run` refuses time_scale 0.05 on target 'staging', whose min_time_scale is 1" in out
    assert main(["plan", "table-corruption", "--target", "staging"]) == 0
    out = capsys.readouterr().out
    assert "  profile   staging (time_scale 1" in out and "warning" not in out


def test_plan_region_outage_on_staging_loads_the_failover_name_and_names_no_marker_with_an_at(
    shipped, capsys, monkeypatch
) -> None:
    monkeypatch.setitem(KINDS, "aws", provider_at("aws", "chaos.aws.provider:AwsProvider"))
    assert main(["plan", "region-outage", "--target", "staging"]) == 0
    out = capsys.readouterr().out
    assert "sent to https://api.staging.hanbit.example (the clients' path)" in out
    assert "ssm:PutParameter Name=/hanbit-drill/todo-api/region.outage/ap-northeast-2" in out
    assert "@" not in out


STAGING = """
version: 1
defaults: {load: {rps: 10}}
profiles: {staging: {time_scale: 1.0}}
targets:
  staging:
    kind: aws
    api_url: https://abc.execute-api.ap-northeast-2.amazonaws.com/prod
    alarm_names: [todo-api-error-rate, todo-api-latency]
    stop_alarm_arns:
      - arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm:todo-api-guard-errors-90
      - arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm:todo-api-error-rate
scenarios:
  s: {baseline: 1s, checks: [slo-baseline]}
"""


def test_a_detection_alarm_as_a_stop_condition_is_refused_with_the_reason() -> None:
    with pytest.raises(ScenarioFileError) as caught:
        parse_config(STAGING, "f.yaml")
    [problem] = caught.value.problems
    assert problem.startswith("f.yaml:6: targets.staging: stop_alarm_arns ")
    assert "alarm:todo-api-error-rate'] name detection alarms (alarm_names)" in problem
    assert "recovery would come without the runbook step" in problem
    guards_only = STAGING.replace(
        "      - arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm:todo-api-error-rate\n", ""
    )
    assert parse_config(guards_only, "f.yaml").targets["staging"].stop_alarm_arns[0].endswith("guard-errors-90")


def test_a_journal_written_before_still_rebuilds_its_aws_target() -> None:
    from scenarios.target_kinds import TARGET_SPEC

    earlier = {"kind": "aws", "api_url": "https://abc.example/prod", "drill_tag": "hanbit-drill", "protected": True}
    target = TARGET_SPEC.validate_python(earlier)  # what `hanbit-drill cleanup` does with journal.target_config
    assert target.kind == "aws" and "drill_tag" not in target.model_dump(mode="json")
