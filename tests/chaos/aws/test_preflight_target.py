"""Preflight problems that come from the target settings alone: one read-only stack serves them all."""

from __future__ import annotations

import boto3
import pytest

from chaos.actions import ActionCall
from chaos.aws.provider import AwsProvider


def call(name: str, **params) -> ActionCall:
    return ActionCall(name=name, params=params)


ALL = [
    ActionCall(name=n, params=p)
    for n, p in [
        ("lambda.deploy-bad-version", {}),
        ("lambda.invocation-error", {"percentage": 30}),
        ("lambda.add-latency", {"latency_ms": 100}),
        ("lambda.http-status", {"status_code": 503}),
        ("lambda.slow-invocations", {"duration_ms": 40000}),
        ("lambda.reserved-concurrency", {"limit": 0}),
        ("table.corrupt", {"fraction": 0.1}),
        ("table.throttle", {"read_capacity": 1}),
        ("region.outage", {}),
        ("lambda.rollback", {}),
        ("lambda.delete-concurrency", {}),
        ("lambda.update-config", {"timeout_s": 30}),
        ("table.backup", {}),
        ("table.restore", {}),
        ("region.failover", {}),
        ("region.failback", {}),
    ]
]


def test_a_ready_stack_has_no_problems_and_preflight_changes_nothing(readonly_stack) -> None:
    provider = readonly_stack.provider()
    assert provider.preflight(ALL) == []
    reads = ("Get", "List", "Describe", "Simulate")  # iam:SimulatePrincipalPolicy only evaluates
    writes = [c.api for c in provider.clients.calls if not c.api.split(":")[1].startswith(reads)]
    assert writes == []


def test_missing_credentials_is_reported_once_and_alone(readonly_stack, monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    provider = AwsProvider(readonly_stack.target, boto3.Session(region_name="ap-northeast-2"))
    problems = provider.preflight(ALL)
    assert len(problems) == 1
    assert "sts:GetCallerIdentity failed: NoCredentials" in problems[0]


CASES = [
    # (id, target changes, call, expected message)
    (
        "function",
        {"function": "nope"},
        call("lambda.reserved-concurrency", limit=0),
        "Lambda function nope does not exist in ap-northeast-2",
    ),
    ("alias", {"alias": "BLUE"}, call("lambda.rollback"), "alias BLUE of Lambda function todo-api does not exist"),
    ("rollback-version", {}, call("lambda.rollback", to_version="9"), "version 9 of todo-api does not exist"),
    ("backups", {}, call("table.restore", source="backup"), "table todos has no AVAILABLE backup"),
    (
        "table",
        {"table": "missing"},
        call("table.corrupt", fraction=0.5),
        "DynamoDB table missing does not exist in ap-northeast-2",
    ),
    ("no-role", {"fis_role_arn": None}, call("lambda.add-latency", latency_ms=100), "the target has no fis_role_arn"),
    (
        "role-missing",
        {"fis_role_arn": "arn:aws:iam::123456789012:role/gone"},
        call("lambda.add-latency", latency_ms=1),
        "FIS role arn:aws:iam::123456789012:role/gone does not exist",
    ),
    (
        "alarm-missing",
        {"stop_alarm_arns": ["arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:gone"]},
        call("lambda.invocation-error"),
        "stop-condition alarm gone does not exist",
    ),
    (
        "no-fis",
        {"use_fis": False},
        call("lambda.add-latency", latency_ms=100),
        "needs AWS FIS, but the target sets use_fis: false",
    ),
    (
        "whole-percentage",
        {},
        call("lambda.invocation-error", percentage=12.5),
        "FIS takes a whole invocationPercentage (1-100), not 12.5",
    ),
    ("no-secondary", {"secondary_region": None}, call("region.failback"), "the target has no secondary_region"),
    (
        "no-routing",
        {"health_check_id": None},
        call("region.failover"),
        "names neither routing_control_arn (ARC) nor health_check_id",
    ),
    (
        "health-check",
        {"health_check_id": "00000000-0000-0000-0000-000000000000"},
        call("region.failover"),
        "reading the Route 53 health check: AWS route53:GetHealthCheck failed: NoSuchHealthCheck",
    ),
    (
        "to-region",
        {},
        call("region.failover", to_region="us-east-1"),
        "to_region us-east-1 is not the secondary_region ap-northeast-1",
    ),
    ("blackhole", {}, call("region.outage", mode="blackhole"), "mode 'blackhole' cannot be made real on AWS"),
    ("outage-region", {}, call("region.outage", region="eu-west-1"), "region eu-west-1 is neither"),
    ("throttle-zero", {}, call("table.throttle", write_capacity=0), "write_capacity 0 is not possible on AWS"),
    ("throttle-none", {}, call("table.throttle"), "give read_capacity and/or write_capacity"),
    ("timeout", {}, call("lambda.update-config", timeout_s=2.5), "Lambda timeouts are whole seconds"),
    ("unsupported", {}, call("auth.expire-tokens"), "the aws provider cannot perform auth.expire-tokens"),
]


@pytest.mark.parametrize("changes, action, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_target_problem_has_a_clear_message(readonly_stack, changes, action, message) -> None:
    problems = readonly_stack.provider(**changes).preflight([action])
    assert any(message in p for p in problems), problems
