"""AWS's naming and size rules (chaos/aws/limits.py), applied to every name the provider generates.

moto accepts an SSM parameter name with '@' and a 300-character table name; AWS answers ValidationException.
These tests hold the provider to AWS's documented rules, whatever moto does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.actions import ActionCall
from chaos.aws.limits import (
    CALL_RULES,
    DYNAMODB_TABLE_NAME,
    FIS_TAG_KEY,
    LAMBDA_ALIAS_NAME,
    LAMBDA_DESCRIPTION,
    SSM_PARAMETER_NAME,
    SSM_PARAMETER_VALUE,
    AwsLimitError,
    call_problems,
)
from chaos.aws.provider import AwsProvider
from chaos.aws.table_restore import repoint_description
from common.errors import InvalidInputError
from scenarios.loader import load_config
from scenarios.models import resolve

SHIPPED = Path(__file__).parents[3] / "scenarios.yaml"


def shipped_staging() -> tuple[AwsProvider, list[ActionCall]]:
    """The shipped staging target's provider, and every call any shipped scenario makes on it, any profile."""
    config = load_config(SHIPPED)
    calls: dict[str, ActionCall] = {}
    for name in config.scenarios:
        if "staging" not in config.scenario_targets(name):
            continue
        for profile in config.profiles:
            try:
                plan = resolve(config, name, profile, "staging", allow_protected=True)
            except InvalidInputError as exc:
                # gameday: a person's table.restore / region.failover cannot be observed on AWS (refused at
                # resolve); the calls of those steps are the same in every other profile.
                assert profile == "gameday" and "cannot observe an operator's" in str(exc), exc
                continue
            for call in plan.provider_calls():
                calls[call.model_dump_json()] = call
    return AwsProvider(config.targets["staging"]), list(calls.values())


@pytest.mark.parametrize(
    "name",
    [
        "/hanbit-drill/todo-api/lambda.reserved-concurrency@ap-northeast-2",  # the names of issue 17
        "/hanbit-drill/todo-api/table.corrupt@todos",
        "/hanbit-drill/todo api/x",
        "/aws/hanbit",
        "hanbit/x",
        "/" + "/".join("l" for _ in range(16)),
        "/" + "x" * 1011,
    ],
)
def test_ssm_names_aws_refuses(name: str) -> None:
    assert SSM_PARAMETER_NAME.problems(name)


def test_the_rules_name_what_is_wrong_and_where_aws_says_so() -> None:
    [problem] = SSM_PARAMETER_NAME.problems("/hanbit-drill/todo-api/table.corrupt@todos")
    assert "not allowed: '@'" in problem and "a-zA-Z0-9_.-" in problem
    assert DYNAMODB_TABLE_NAME.problems("todos restored") and DYNAMODB_TABLE_NAME.problems("t" * 256)
    assert DYNAMODB_TABLE_NAME.problems("ab") and not DYNAMODB_TABLE_NAME.problems("todos-restored")
    assert LAMBDA_ALIAS_NAME.problems("42") and not LAMBDA_ALIAS_NAME.problems("LIVE")
    assert FIS_TAG_KEY.problems("k" * 129) and not FIS_TAG_KEY.problems("hanbit-drill")
    assert SSM_PARAMETER_VALUE.problems("é" * 2049)  # 4 KB counts bytes, not characters
    assert len(repoint_description("TABLE_NAME", "t" * 255)) == LAMBDA_DESCRIPTION.max_len


def test_every_name_the_provider_generates_for_the_shipped_file_is_one_aws_accepts() -> None:
    provider, calls = shipped_staging()
    named = provider.named_calls(calls)
    apis = {api for api, _ in named}
    # Markers, tables, the alias, FIS templates and their tags, the alarms: each kind is covered.
    assert apis >= {
        "ssm:PutParameter",
        "dynamodb:DescribeTable",
        "dynamodb:CreateBackup",
        "dynamodb:RestoreTableToPointInTime",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:PublishVersion",
        "fis:CreateExperimentTemplate",
        "cloudwatch:DescribeAlarms",
    }
    assert apis <= set(CALL_RULES)  # every generated call has its rules
    markers = [params["Name"] for api, params in named if api == "ssm:PutParameter"]
    assert len(markers) >= 8 and not any("@" in m for m in markers)
    assert "/hanbit-drill/todo-api/region.outage/ap-northeast-2" in markers
    assert [(api, p) for api, params in named for p in call_problems(api, params)] == []
    assert provider.name_problems(calls) == []
    assert provider.clients.calls == []  # found without a single AWS call


def test_preflight_reports_a_name_aws_would_refuse_before_any_call(stack) -> None:
    provider = stack.provider(function="todo-api:LIVE")  # a qualified name: ':' is no SSM name character
    problems = provider.name_problems([ActionCall(name="region.outage", params={"region": "ap-northeast-2"})])
    assert problems and "cannot name the fault marker" in problems[0] and "':'" in problems[0]
    restore = ActionCall(name="table.restore", params={"target_table": "todos restored"})
    assert any("DynamoDB table name 'todos restored'" in p for p in stack.provider().preflight([restore]))


def test_a_call_breaking_a_rule_is_never_made(stack) -> None:
    provider = stack.provider(table="t" * 240)  # a valid table name; its runbook backup name is not
    from chaos.provider import RemediationContext

    with pytest.raises(
        AwsLimitError, match=r"dynamodb:CreateBackup not called: DynamoDB backup name 't{77}\.\.\.' is 263"
    ):
        provider.remediate(ActionCall(name="table.backup"), RemediationContext(fault_at=None))
    assert [c.api for c in provider.clients.calls] == []
