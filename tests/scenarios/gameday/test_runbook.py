"""Runbook text as the on-call is paged with it: the manual's command with the target's values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chaos.actions import ActionCall
from chaos.provider import InjectedFault, RemediationContext
from chaos.targets import AwsTarget, BundledTarget
from scenarios.gameday.runbook import render, template_for, values
from scenarios.models import RemediationSpec

MANUAL = "aws lambda update-alias --function-name {function} --name {alias} --function-version {previous_version}"


def test_the_manuals_rollback_gets_the_version_before_the_bad_deploy() -> None:
    target = AwsTarget(api_url="https://x.execute-api.ap-northeast-2.amazonaws.com/prod")
    context = RemediationContext(fault_at=1e9, faults=(
        InjectedFault("bad-deploy", "lambda.deploy-bad-version", {"alias_version": "7", "bad_version": "8"}),))
    text = render(MANUAL, values(target, ActionCall(name="lambda.rollback"), context, {}))
    assert text == "aws lambda update-alias --function-name todo-api --name LIVE --function-version 7"


def test_a_restore_names_the_point_before_the_fault_and_the_bundled_data_dir() -> None:
    template = {"bundled": "hanbit-drill bundled restore-table --target-table-name {target_table} "
                           "--restore-date-time {restore_time} --data-dir {data_dir}"}
    call = ActionCall(name="table.restore", params={"target_table": "todos-restored", "before_fault_s": 1})
    text = render(template_for(template, "bundled"),
                  values(BundledTarget(), call, RemediationContext(fault_at=1_700_000_001.5), {"data_dir": "/d"}))
    assert text == ("hanbit-drill bundled restore-table --target-table-name todos-restored "
                    "--restore-date-time 2023-11-14T22:13:20Z --data-dir /d")
    assert template_for(template, "aws") is None


def test_an_unknown_value_stays_visible_rather_than_guessed() -> None:
    assert render("--version {previous_version}", {}) == "--version <previous_version?>"


def test_the_file_refuses_unknown_placeholders_and_operator_steps_without_a_runbook() -> None:
    with pytest.raises(ValidationError, match="unknown placeholder.*functon"):
        RemediationSpec(action="lambda.rollback", runbook="--function-name {functon}")
    with pytest.raises(ValidationError, match="by: operator needs a `runbook:`"):
        RemediationSpec(action="lambda.rollback", by="operator")
