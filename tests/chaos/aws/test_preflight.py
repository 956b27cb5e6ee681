"""Preflight: nothing is changed, and each problem gets one clear message."""

from __future__ import annotations

import json

import pytest

from chaos.actions import ActionCall


def call(name: str, **params) -> ActionCall:
    return ActionCall(name=name, params=params)


def _lambda(stack):
    return stack.client("lambda")


def _serve_version_without(stack, **config) -> None:
    lam = _lambda(stack)
    lam.update_function_configuration(FunctionName="todo-api", **config)
    version = lam.publish_version(FunctionName="todo-api")["Version"]
    lam.update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion=version)


def _alarm(stack) -> None:
    stack.client("cloudwatch").set_alarm_state(AlarmName="todo-api-guard-errors-90", StateValue="ALARM", StateReason="test")


def _fis_role_untrusted(stack) -> None:
    stack.client("iam").update_assume_role_policy(
        RoleName="hanbit-drill-fis",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )


CASES = [
    # (id, setup, target changes, call, expected message)
    (
        "previous",
        lambda s: _lambda(s).update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1"),
        {},
        call("lambda.rollback"),
        "points at version 1 and there is no earlier published version",
    ),
    (
        "pitr",
        lambda s: s.client("dynamodb").update_continuous_backups(
            TableName="todos", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
        ),
        {},
        call("table.restore"),
        "point-in-time recovery is not enabled on table todos",
    ),
    (
        "restored-exists",
        lambda s: s.client("dynamodb").create_table(
            TableName="todos-restored",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ),
        {},
        call("table.restore"),
        "restore target table todos-restored already exists",
    ),
    (
        "table-name",
        lambda s: _serve_version_without(s, Environment={"Variables": {"TABLE_NAME": "other"}}),
        {},
        call("table.restore"),
        "has TABLE_NAME='other', not 'todos'",
    ),
    (
        "role-trust",
        _fis_role_untrusted,
        {},
        call("lambda.http-status", status_code=500),
        "does not trust fis.amazonaws.com",
    ),
    (
        "alarm-state",
        _alarm,
        {},
        call("lambda.invocation-error"),
        "stop-condition alarm todo-api-guard-errors-90 is already in ALARM",
    ),
    (
        "layer",
        lambda s: _serve_version_without(s, Layers=[]),
        {},
        call("lambda.add-latency", latency_ms=5),
        "lacks the FIS Lambda extension layer",
    ),
    (
        "wrapper",
        lambda s: _serve_version_without(s, Environment={"Variables": {"TABLE_NAME": "todos"}}),
        {},
        call("lambda.slow-invocations", duration_ms=5),
        "must set AWS_LAMBDA_EXEC_WRAPPER=/opt/aws-fis/bootstrap",
    ),
    (
        "config-location",
        lambda s: _serve_version_without(
            s,
            Environment={
                "Variables": {
                    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
                    "AWS_FIS_CONFIGURATION_LOCATION": "s3://bucket/x",
                }
            },
        ),
        {},
        call("lambda.add-latency", latency_ms=5),
        "must set AWS_FIS_CONFIGURATION_LOCATION to the S3 ARN",
    ),
    (
        "drift",
        lambda s: _lambda(s).update_function_configuration(FunctionName="todo-api", Timeout=99),
        {},
        call("lambda.deploy-bad-version"),
        "$LATEST of todo-api differs from version 2 behind LIVE in Timeout",
    ),
    (
        "canary",
        lambda s: _lambda(s).update_alias(
            FunctionName="todo-api",
            Name="LIVE",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
        ),
        {},
        call("lambda.deploy-bad-version"),
        "alias LIVE already routes traffic to versions ['1']",
    ),
    (
        "secondary",
        lambda s: s.client("lambda", s.SECONDARY).put_function_concurrency(
            FunctionName="todo-api", ReservedConcurrentExecutions=0
        ),
        {},
        call("region.failover"),
        "secondary region not healthy: function todo-api in ap-northeast-1 has reserved concurrency 0",
    ),
]


@pytest.mark.parametrize("setup, changes, action, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_has_a_clear_message(stack, setup, changes, action, message) -> None:
    setup(stack)
    problems = stack.provider(**changes).preflight([action])
    assert any(message in p for p in problems), problems


def test_rollback_needs_no_earlier_version_when_the_drill_deploys_the_bad_one(stack) -> None:
    _lambda(stack).update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1")
    _lambda(stack).update_function_configuration(FunctionName="todo-api", MemorySize=256)  # $LATEST == version 1
    provider = stack.provider()
    assert provider.preflight([call("lambda.rollback")]) != []
    assert provider.preflight([call("lambda.deploy-bad-version"), call("lambda.rollback")]) == []


def test_a_fault_left_by_an_earlier_drill_is_reported(stack) -> None:
    stack.provider().inject(call("lambda.reserved-concurrency", limit=0))
    problems = stack.provider().preflight([call("lambda.delete-concurrency")])
    assert problems == [
        "an earlier drill left a fault in place (SSM parameter "
        "/hanbit-drill/todo-api/lambda.reserved-concurrency/ap-northeast-2); run `hanbit-drill cleanup` "
        "on its journal, or `hanbit-drill cleanup --target` on this target without it"
    ]


def test_auto_scaling_on_a_provisioned_table_is_reported(stack) -> None:
    stack.client("dynamodb").create_table(
        TableName="orders",
        BillingMode="PROVISIONED",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    stack.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/orders",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5,
        MaxCapacity=100,
    )
    problems = stack.provider(table="orders").preflight([call("table.throttle", write_capacity=1)])
    assert any("has auto scaling, which would lift the throttle" in p for p in problems), problems


def test_a_restore_from_backup_needs_no_backup_yet_when_the_drill_makes_one(stack) -> None:
    restore = call("table.restore", source="backup")
    provider = stack.provider()
    assert any("has no AVAILABLE backup" in p for p in provider.preflight([restore]))
    assert provider.preflight([call("table.backup"), restore]) == []
