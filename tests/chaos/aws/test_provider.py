"""The Provider protocol, no I/O before use, error mapping, and plans that list the calls really made."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from chaos.actions import CATALOG, ActionCall, ActionKind
from chaos.aws.errors import AwsApiError, translate
from chaos.aws.provider import AwsProvider
from chaos.provider import Provider, RemediationContext
from chaos.targets import AwsTarget
from common.errors import ExitCode, ProviderError
from scenarios.target_kinds import provider_class
from verify.journal import FaultRecord, RemediationRecord

SAMPLE_PARAMS = {
    "lambda.add-latency": {"latency_ms": 300},
    "lambda.http-status": {"status_code": 503},
    "lambda.slow-invocations": {"duration_ms": 40000},
    "lambda.reserved-concurrency": {"limit": 0},
    "lambda.invocation-error": {"percentage": 40},
    "table.corrupt": {"fraction": 0.5, "id_prefix": "3fa2b1c0-"},
    "table.throttle": {"write_capacity": 2},
    "lambda.update-config": {"timeout_s": 30, "memory_mb": 512},
}


def sample(name: str) -> ActionCall:
    return ActionCall(name=name, params=SAMPLE_PARAMS.get(name, {}))


def test_registry_points_at_the_provider_and_it_satisfies_the_protocol() -> None:
    assert provider_class("aws") is AwsProvider
    provider = AwsProvider(AwsTarget(api_url="https://api.example.com"))
    assert isinstance(provider, Provider)
    assert AwsProvider.name == "aws"
    assert AwsProvider.supported_actions <= set(CATALOG)
    assert set(CATALOG) - AwsProvider.supported_actions == {"auth.expire-tokens", "revert-fault"}


def test_construction_and_plan_need_no_credentials_and_make_no_call(monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    provider = AwsProvider(AwsTarget(api_url="https://api.example.com", fis_role_arn="arn:aws:iam::1:role/fis"))
    for name in sorted(AwsProvider.supported_actions):
        lines = provider.plan(sample(name))
        assert lines and all(
            line.split(": ", 1)[0] in {"inject", "revert", "remediate"} or line.startswith("(") for line in lines
        ), lines
    assert provider.clients.calls == [] and provider.clients._clients == {}
    assert provider.plan(ActionCall(name="lambda.rollback", params={"to_version": "7"}))[-1] == (
        "remediate: lambda:UpdateAlias FunctionName=todo-api Name=LIVE FunctionVersion=7 RoutingConfig={}"
    )
    provider.close()


def test_client_errors_become_provider_errors_with_the_aws_code() -> None:
    err = translate(
        "lambda:UpdateAlias",
        ClientError(
            {"Error": {"Code": "ResourceConflictException", "Message": "The operation cannot be performed"}},
            "UpdateAlias",
        ),
    )
    assert isinstance(err, ProviderError) and isinstance(err, AwsApiError)
    assert str(err) == "AWS lambda:UpdateAlias failed: ResourceConflictException: The operation cannot be performed"
    assert err.code == "ResourceConflictException" and err.exit_code == ExitCode.TARGET_ERROR
    assert "NoCredentials" in str(translate("sts:GetCallerIdentity", NoCredentialsError()))


def test_an_api_error_during_inject_names_the_operation_and_code(stack) -> None:
    provider = stack.provider(function="nope")
    with pytest.raises(ProviderError, match="lambda:GetFunctionConcurrency failed: ResourceNotFoundException"):
        provider.inject(sample("lambda.reserved-concurrency"))


def _fis_stub(stack, provider, with_stop: bool) -> None:
    fis = stack.stub(provider, "fis")
    fis.add_response("create_experiment_template", {"experimentTemplate": {"id": "EXT1"}})
    fis.add_response("start_experiment", stack.experiment("EXP1", "pending"))
    fis.add_response("get_experiment", stack.experiment("EXP1", "running"))
    if with_stop:
        fis.add_response("get_experiment", stack.experiment("EXP1", "running"))
        fis.add_response("stop_experiment", stack.experiment("EXP1", "stopping"))
        fis.add_response("get_experiment", stack.experiment("EXP1", "stopped"))
        fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": "EXT1"}})
        fis.add_response("get_experiment", stack.experiment("EXP1", "stopped"))


def _provisioned_orders(stack) -> None:
    stack.client("dynamodb").create_table(
        TableName="orders",
        BillingMode="PROVISIONED",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )


@pytest.mark.parametrize(
    "name", sorted(n for n in AwsProvider.supported_actions if CATALOG[n].kind == ActionKind.FAULT)
)
def test_every_call_inject_and_revert_make_is_in_the_plan(stack, name) -> None:
    changes = {"table": "orders"} if name == "table.throttle" else {}
    if changes:
        _provisioned_orders(stack)
    stack.put_items(12)
    provider = stack.provider(**changes)
    if name in (
        "lambda.add-latency",
        "lambda.http-status",
        "lambda.slow-invocations",
        "lambda.invocation-error",
        "region.pause-replication",
    ):
        _fis_stub(stack, provider, with_stop=True)
    call = sample(name)
    plan = "\n".join(provider.plan(call))
    undo = provider.inject(call)
    # The undo data goes to journal.json and comes back in another process: it must survive JSON.
    record = FaultRecord(id="f", action=name, provider="aws", target="staging", intended_at=0.0, undo=undo)
    provider.revert(call, json.loads(record.model_dump_json())["undo"])
    made = {c.api for c in provider.clients.calls}
    assert made and {api for api in made if api not in plan} == set()


@pytest.mark.parametrize(
    "name", sorted(n for n in AwsProvider.supported_actions if CATALOG[n].kind == ActionKind.REMEDIATION)
)
def test_every_call_a_remediation_makes_is_in_the_plan(stack, name) -> None:
    window = stack.client("dynamodb").describe_continuous_backups(TableName="todos")["ContinuousBackupsDescription"]
    fault_at = window["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"].timestamp() + 1
    provider = stack.provider()
    call = sample(name)
    plan = "\n".join(provider.plan(call))
    if name == "region.failback":
        provider.remediate(ActionCall(name="region.failover"), RemediationContext(fault_at=None))
        provider.clients.calls.clear()
    detail = provider.remediate(call, RemediationContext(fault_at=fault_at))
    RemediationRecord(action=name, started_at=0.0, detail=detail)  # journal-ready
    json.dumps(detail)
    made = {c.api for c in provider.clients.calls}
    assert made and {api for api in made if api not in plan} == set()
