"""A moto-backed staging stack for the AWS provider tests. No real AWS call is ever made:
credentials are fake, every boto3 call is answered by moto or by botocore's Stubber."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from chaos.aws.context import AwsSettings
from chaos.aws.provider import AwsProvider
from chaos.targets import AwsTarget

PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"
FIS_PARAM = "/test/fis/lambda-extension/AWS-FIS-extension-{arch}/1.x.x"  # /aws/... is reserved in moto
FIS_ENV = {
    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
    "AWS_FIS_CONFIGURATION_LOCATION": "arn:aws:s3:::fis-config-bucket/FisConfigs/",
}


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def code_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buf.getvalue()


class FakeClock:
    """Injectable clock and sleep: time only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep: list[Any] = []  # callables run on each sleep (the world changing meanwhile)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for hook in list(self.on_sleep):
            hook()


@dataclass
class Stack:
    PRIMARY = PRIMARY
    SECONDARY = SECONDARY
    session: boto3.Session
    target: AwsTarget
    clock: FakeClock
    providers: list[AwsProvider] = field(default_factory=list)

    def client(self, service: str, region: str = PRIMARY) -> Any:
        return self.session.client(service, region_name=region)

    def provider(self, **target_changes: Any) -> AwsProvider:
        target = self.target.model_copy(update=target_changes)
        settings = AwsSettings(poll_interval_s=2.0, wait_timeout_s=60.0, fis_extension_parameter=FIS_PARAM)
        provider = AwsProvider(target, self.session, settings=settings, sleep=self.clock.sleep, clock=self.clock.clock)
        self.providers.append(provider)
        return provider

    def stub(
        self, provider: AwsProvider, service: str, region: str = PRIMARY, endpoint_url: str | None = None
    ) -> Stubber:
        client = self.session.client(service, region_name=region, endpoint_url=endpoint_url)
        provider.clients.install(service, client, region, endpoint_url)
        stubber = Stubber(client)
        stubber.activate()
        return stubber

    # ---- builders ---------------------------------------------------------------------------

    def put_items(self, count: int, tagged: bool = True, prefix: str = "t") -> list[dict[str, Any]]:
        ddb = self.client("dynamodb")
        items = []
        for i in range(count):
            item = {
                "user_id": {"S": f"u{i % 3}"},
                "id": {"S": f"{prefix}{i:03d}"},
                "title": {"S": f"buy milk {i}"},
                "done": {"BOOL": False},
                "priority": {"S": "normal"},
                "blob": {"B": bytes([i % 256, 1, 2])},
            }
            if tagged:
                item["hanbit-drill"] = {"S": "run-1"}
            ddb.put_item(TableName="todos", Item=item)
            items.append(item)
        return items

    def items(self, table: str = "todos") -> dict[str, dict[str, Any]]:
        found = self.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
        return {i["id"]["S"]: i for i in found}

    @staticmethod
    def experiment(experiment_id: str, status: str, reason: str = "") -> dict[str, Any]:
        return {
            "experiment": {
                "id": experiment_id,
                "experimentTemplateId": "EXT1",
                "state": {"status": status, "reason": reason},
            }
        }

    # ---- reads used by assertions ---------------------------------------------------------

    def alias(self, region: str = PRIMARY) -> dict[str, Any]:
        return self.client("lambda", region).get_alias(FunctionName="todo-api", Name="LIVE")

    def latest(self) -> dict[str, Any]:
        return self.client("lambda").get_function_configuration(FunctionName="todo-api")

    def versions(self) -> list[dict[str, Any]]:
        found = self.client("lambda").list_versions_by_function(FunctionName="todo-api")["Versions"]
        return [v for v in found if v["Version"] != "$LATEST"]

    def concurrency(self, region: str = PRIMARY) -> int | None:
        return (
            self.client("lambda", region)
            .get_function_concurrency(FunctionName="todo-api")
            .get("ReservedConcurrentExecutions")
        )

    def markers(self) -> list[str]:
        found = self.client("ssm").get_parameters_by_path(Path="/hanbit-drill", Recursive=True)
        return [p["Name"] for p in found["Parameters"]]


def _function(session: boto3.Session, region: str, role: str, env: dict[str, str]) -> None:
    lam = session.client("lambda", region_name=region)
    layer = lam.publish_layer_version(LayerName="aws-fis-extension-x86_64", Content={"ZipFile": code_zip()})
    lam.create_function(
        FunctionName="todo-api",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Timeout=10,
        MemorySize=256,
        Environment={"Variables": env},
        Layers=[layer["LayerVersionArn"]],
    )
    lam.publish_version(FunctionName="todo-api", Description="release 1")
    lam.update_function_configuration(FunctionName="todo-api", MemorySize=384)
    v2 = lam.publish_version(FunctionName="todo-api", Description="release 2")["Version"]
    lam.create_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion=v2)
    session.client("ssm", region_name=region).put_parameter(
        Name=FIS_PARAM.format(arch="x86_64"), Value=layer["LayerVersionArn"], Type="String"
    )


def _table(session: boto3.Session, region: str) -> str:
    ddb = session.client("dynamodb", region_name=region)
    table = ddb.create_table(
        TableName="todos",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "app", "Value": "hanbit-todo"}, {"Key": "env", "Value": "staging"}],
    )["TableDescription"]
    ddb.update_continuous_backups(
        TableName="todos", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.update_time_to_live(TableName="todos", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return table["TableArn"]


_BOTOCORE: list[botocore.session.Session] = []


def shared_session() -> boto3.Session:
    """One botocore session for all tests: its loader caches the service models (seconds of JSON per session)."""
    if not _BOTOCORE:
        _BOTOCORE.append(botocore.session.get_session())
    return boto3.Session(botocore_session=_BOTOCORE[0], region_name=PRIMARY)


@pytest.fixture
def stack() -> Iterator[Stack]:
    with staging_stack() as built:
        yield built


@pytest.fixture(scope="module")
def readonly_stack() -> Iterator[Stack]:
    """One stack for a whole module whose tests only read (building one costs about a second)."""
    with staging_stack() as built:
        yield built


@contextmanager
def staging_stack() -> Iterator[Stack]:
    with mock_aws():
        session = shared_session()
        iam = session.client("iam")
        role = iam.create_role(
            RoleName="todo-api-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        fis_role = iam.create_role(
            RoleName="fis-drill-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
        )["Role"]["Arn"]
        env = {"TABLE_NAME": "todos", "LOG_LEVEL": "INFO", **FIS_ENV}
        for region in (PRIMARY, SECONDARY):
            _function(session, region, role, env)
            _table(session, region)
        cw = session.client("cloudwatch")
        for name in ("todo-api-error-rate", "todo-api-latency"):
            cw.put_metric_alarm(
                AlarmName=name,
                MetricName="Errors",
                Namespace="AWS/Lambda",
                Statistic="Sum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=5,
                ComparisonOperator="GreaterThanThreshold",
            )
        alarms = [a["AlarmArn"] for a in cw.describe_alarms()["MetricAlarms"]]
        health = session.client("route53").create_health_check(
            CallerReference="primary",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": "api.ap-northeast-2.example.com",
                "ResourcePath": "/health",
                "Port": 443,
                "RequestInterval": 30,
                "FailureThreshold": 3,
            },
        )["HealthCheck"]["Id"]
        target = AwsTarget(
            api_url="https://api.example.com", fis_role_arn=fis_role, stop_alarm_arns=alarms, health_check_id=health
        )
        built = Stack(session, target, FakeClock())
        yield built
        for provider in built.providers:
            provider.close()
