"""Preflight: nothing is changed, and each problem gets one clear message."""

from __future__ import annotations

import json

import pytest

from chaos.actions import ActionCall

ALL = [ActionCall(name=n, params=p) for n, p in [
    ("lambda.deploy-bad-version", {}), ("lambda.invocation-error", {"percentage": 30}),
    ("lambda.add-latency", {"latency_ms": 100}), ("lambda.http-status", {"status_code": 503}),
    ("lambda.slow-invocations", {"duration_ms": 40000}), ("lambda.reserved-concurrency", {"limit": 0}),
    ("table.corrupt", {"fraction": 0.1}), ("table.throttle", {"read_capacity": 1}), ("region.outage", {}),
    ("lambda.rollback", {}), ("lambda.delete-concurrency", {}), ("lambda.update-config", {"timeout_s": 30}),
    ("table.backup", {}), ("table.restore", {}), ("region.failover", {}), ("region.failback", {})]]


def call(name: str, **params) -> ActionCall:
    return ActionCall(name=name, params=params)


def test_a_ready_stack_has_no_problems_and_preflight_changes_nothing(stack) -> None:
    provider = stack.provider()
    assert provider.preflight(ALL) == []
    writes = [c.api for c in provider.clients.calls
              if not c.api.split(":")[1].startswith(("Get", "List", "Describe"))]
    assert writes == []


def test_missing_credentials_is_reported_once_and_alone(stack, monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    import boto3
    stack.session = boto3.Session(region_name=stack.PRIMARY)
    problems = stack.provider().preflight(ALL)
    assert len(problems) == 1
    assert "sts:GetCallerIdentity failed: NoCredentials" in problems[0]


def _lambda(stack):
    return stack.client("lambda")


def _serve_version_without(stack, **config) -> None:
    lam = _lambda(stack)
    lam.update_function_configuration(FunctionName="todo-api", **config)
    version = lam.publish_version(FunctionName="todo-api")["Version"]
    lam.update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion=version)


def _alarm(stack) -> None:
    stack.client("cloudwatch").set_alarm_state(AlarmName="todo-api-error-rate", StateValue="ALARM", StateReason="test")


def _fis_role_untrusted(stack) -> None:
    stack.client("iam").update_assume_role_policy(RoleName="fis-drill-role", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))


CASES = [
    # (id, setup, target changes, call, expected message)
    ("function", None, {"function": "nope"}, call("lambda.reserved-concurrency", limit=0),
     "Lambda function nope does not exist in ap-northeast-2"),
    ("alias", None, {"alias": "BLUE"}, call("lambda.rollback"),
     "alias BLUE of Lambda function todo-api does not exist"),
    ("previous", lambda s: _lambda(s).update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1"), {},
     call("lambda.rollback"), "points at version 1 and there is no earlier published version"),
    ("rollback-version", None, {}, call("lambda.rollback", to_version="9"), "version 9 of todo-api does not exist"),
    ("pitr", lambda s: s.client("dynamodb").update_continuous_backups(
        TableName="todos", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}), {},
     call("table.restore"), "point-in-time recovery is not enabled on table todos"),
    ("backups", None, {}, call("table.restore", source="backup"), "table todos has no AVAILABLE backup"),
    ("restored-exists", lambda s: s.client("dynamodb").create_table(
        TableName="todos-restored", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}]), {},
     call("table.restore"), "restore target table todos-restored already exists"),
    ("table-name", lambda s: _serve_version_without(s, Environment={"Variables": {"TABLE_NAME": "other"}}), {},
     call("table.restore"), "has TABLE_NAME='other', not 'todos'"),
    ("table", None, {"table": "missing"}, call("table.corrupt", fraction=0.5),
     "DynamoDB table missing does not exist in ap-northeast-2"),
    ("no-role", None, {"fis_role_arn": None}, call("lambda.add-latency", latency_ms=100), "the target has no fis_role_arn"),
    ("role-missing", None, {"fis_role_arn": "arn:aws:iam::123456789012:role/gone"}, call("lambda.add-latency", latency_ms=1),
     "FIS role arn:aws:iam::123456789012:role/gone does not exist"),
    ("role-trust", _fis_role_untrusted, {}, call("lambda.http-status", status_code=500),
     "does not trust fis.amazonaws.com"),
    ("alarm-state", _alarm, {}, call("lambda.invocation-error"),
     "stop-condition alarm todo-api-error-rate is already in ALARM"),
    ("alarm-missing", None, {"stop_alarm_arns": ["arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:gone"]},
     call("lambda.invocation-error"), "stop-condition alarm gone does not exist"),
    ("layer", lambda s: _serve_version_without(s, Layers=[]), {}, call("lambda.add-latency", latency_ms=5),
     "lacks the FIS Lambda extension layer"),
    ("wrapper", lambda s: _serve_version_without(s, Environment={"Variables": {"TABLE_NAME": "todos"}}), {},
     call("lambda.slow-invocations", duration_ms=5), "must set AWS_LAMBDA_EXEC_WRAPPER=/opt/aws-fis/bootstrap"),
    ("config-location", lambda s: _serve_version_without(s, Environment={"Variables": {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap", "AWS_FIS_CONFIGURATION_LOCATION": "s3://bucket/x"}}), {},
     call("lambda.add-latency", latency_ms=5), "must set AWS_FIS_CONFIGURATION_LOCATION to the S3 ARN"),
    ("no-fis", None, {"use_fis": False}, call("lambda.add-latency", latency_ms=100),
     "needs AWS FIS, but the target sets use_fis: false"),
    ("whole-percentage", None, {}, call("lambda.invocation-error", percentage=12.5),
     "FIS takes a whole invocationPercentage (1-100), not 12.5"),
    ("drift", lambda s: _lambda(s).update_function_configuration(FunctionName="todo-api", Timeout=99), {},
     call("lambda.deploy-bad-version"), "$LATEST of todo-api differs from version 2 behind LIVE in Timeout"),
    ("canary", lambda s: _lambda(s).update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="2",
                                                 RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}}), {},
     call("lambda.deploy-bad-version"), "alias LIVE already routes traffic to versions ['1']"),
    ("secondary", lambda s: s.client("lambda", s.SECONDARY).put_function_concurrency(
        FunctionName="todo-api", ReservedConcurrentExecutions=0), {}, call("region.failover"),
     "secondary region not healthy: function todo-api in ap-northeast-1 has reserved concurrency 0"),
    ("no-secondary", None, {"secondary_region": None}, call("region.failback"), "the target has no secondary_region"),
    ("no-routing", None, {"health_check_id": None}, call("region.failover"),
     "names neither routing_control_arn (ARC) nor health_check_id"),
    ("health-check", None, {"health_check_id": "00000000-0000-0000-0000-000000000000"}, call("region.failover"),
     "reading the Route 53 health check: AWS route53:GetHealthCheck failed: NoSuchHealthCheck"),
    ("to-region", None, {}, call("region.failover", to_region="us-east-1"),
     "to_region us-east-1 is not the secondary_region ap-northeast-1"),
    ("blackhole", None, {}, call("region.outage", mode="blackhole"), "mode 'blackhole' cannot be made real on AWS"),
    ("outage-region", None, {}, call("region.outage", region="eu-west-1"), "region eu-west-1 is neither"),
    ("throttle-zero", None, {}, call("table.throttle", write_capacity=0), "write_capacity 0 is not possible on AWS"),
    ("throttle-none", None, {}, call("table.throttle"), "give read_capacity and/or write_capacity"),
    ("timeout", None, {}, call("lambda.update-config", timeout_s=2.5), "Lambda timeouts are whole seconds"),
    ("unsupported", None, {}, call("auth.expire-tokens"), "the aws provider cannot perform auth.expire-tokens"),
]


@pytest.mark.parametrize("setup, changes, action, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_has_a_clear_message(stack, setup, changes, action, message) -> None:
    if setup:
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
    assert problems == ["an earlier drill left a fault in place (SSM parameter "
                        "/hanbit-drill/todo-api/lambda.reserved-concurrency@ap-northeast-2); run `hanbit-drill cleanup` "
                        "on its journal, or delete the parameter once you have undone it by hand"]


def test_auto_scaling_on_a_provisioned_table_is_reported(stack) -> None:
    stack.client("dynamodb").create_table(
        TableName="orders", BillingMode="PROVISIONED", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    stack.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId="table/orders", ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5, MaxCapacity=100)
    problems = stack.provider(table="orders").preflight([call("table.throttle", write_capacity=1)])
    assert any("has auto scaling, which would lift the throttle" in p for p in problems), problems
