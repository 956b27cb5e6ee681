"""A moto-backed staging stack for the AWS provider tests. No real AWS call is ever made:
credentials are fake, every boto3 call is answered by moto or by botocore's Stubber."""

from __future__ import annotations

import fnmatch
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from chaos.aws.context import AwsSettings
from chaos.aws.endpoints import EndpointProbe
from chaos.aws.provider import AwsProvider
from chaos.targets import AwsTarget

PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"
DETECTION_ALARMS = ("todo-api-error-rate", "todo-api-latency")
GUARD_ALARM = "todo-api-guard-errors-90"
RUN_PREFIX = "3fa2b1c0-"  # the id prefix of the drill's own load (loadtests: `<run id>-`)
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


FAILOVER_URL = "https://api.staging.example.com"
PRIMARY_URL = "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod"
SECONDARY_URL = "https://def.execute-api.ap-northeast-1.amazonaws.com/prod"


@dataclass
class FakeEndpoints:
    """DNS and HTTP of the stack's API: each URL's /health answer, and the names that resolve."""

    health: dict[str, tuple[int, str | None]] = field(
        default_factory=lambda: {FAILOVER_URL: (200, PRIMARY), PRIMARY_URL: (200, PRIMARY), SECONDARY_URL: (200, SECONDARY)}
    )
    names: dict[str, list[str]] = field(default_factory=lambda: {"api.staging.example.com": ["203.0.113.10"]})

    def resolve(self, host: str) -> list[str]:
        if host not in self.names:
            raise OSError(f"[Errno -2] Name or service not known: {host!r}")
        return self.names[host]

    def fetch(self, url: str, timeout_s: float) -> tuple[int, bytes]:
        base = url.removesuffix("/health")
        if base not in self.health:
            raise OSError(f"connection refused: {url}")
        status, region = self.health[base]
        return status, json.dumps({"status": "ok", "region": region}).encode()


@dataclass
class Stack:
    PRIMARY = PRIMARY
    SECONDARY = SECONDARY
    RUN_PREFIX = RUN_PREFIX
    session: boto3.Session
    target: AwsTarget
    clock: FakeClock
    providers: list[AwsProvider] = field(default_factory=list)
    endpoints: FakeEndpoints = field(default_factory=FakeEndpoints)

    def client(self, service: str, region: str = PRIMARY) -> Any:
        return self.session.client(service, region_name=region)

    def provider(self, session: boto3.Session | None = None, **target_changes: Any) -> AwsProvider:
        target = self.target.model_copy(update=target_changes)
        settings = AwsSettings(poll_interval_s=2.0, wait_timeout_s=60.0, fis_extension_parameter=FIS_PARAM)
        probe = EndpointProbe(self.endpoints.resolve, self.endpoints.fetch)
        provider = AwsProvider(
            target, session or self.session, settings=settings, sleep=self.clock.sleep, clock=self.clock.clock,
            probe=probe,
        )
        self.providers.append(provider)
        return provider

    def session_as(self, role_arn: str) -> boto3.Session:
        """A session with the credentials of `role_arn` assumed (GetCallerIdentity: its assumed-role ARN)."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="drill")["Credentials"]
        botocore_session = botocore.session.get_session()
        botocore_session.register_component("data_loader", _BOTOCORE[0].get_component("data_loader"))
        for event, answer in MOTO_GAPS.items():
            botocore_session.register(event, answer)
        botocore_session.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return boto3.Session(botocore_session=botocore_session, region_name=PRIMARY)

    def stub(
        self, provider: AwsProvider, service: str, region: str = PRIMARY, endpoint_url: str | None = None
    ) -> Stubber:
        client = self.session.client(service, region_name=region, endpoint_url=endpoint_url)
        provider.clients.install(service, client, region, endpoint_url)
        stubber = Stubber(client)
        stubber.activate()
        return stubber

    # ---- builders ---------------------------------------------------------------------------

    def put_items(self, count: int, prefix: str = RUN_PREFIX) -> list[dict[str, Any]]:
        """Items as the service writes them; ids as the drill's load chooses them (`<run id>-<worker>-<n>`)
        with the default prefix, anyone else's with another."""
        ddb = self.client("dynamodb")
        items = []
        for i in range(count):
            item = {
                "userId": {"S": f"u{i % 3}"},
                "todoId": {"S": f"{prefix}w1-{i:x}"},
                "title": {"S": f"buy milk {i}"},
                "done": {"BOOL": False},
                "priority": {"S": "normal"},
                "blob": {"B": bytes([i % 256, 1, 2])},
            }
            ddb.put_item(TableName="todos", Item=item)
            items.append(item)
        return items

    def items(self, table: str = "todos") -> dict[str, dict[str, Any]]:
        found = self.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
        return {i["todoId"]["S"]: i for i in found}

    @staticmethod
    def code_zip() -> bytes:
        return code_zip()

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
        # The layout service/store/dynamodb.py creates: the client-chosen id is the sort key.
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "todoId", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "todoId", "AttributeType": "S"},
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
        session = botocore.session.get_session()
        for event, answer in MOTO_GAPS.items():
            session.register(event, answer)
        _BOTOCORE.append(session)
    return boto3.Session(botocore_session=_BOTOCORE[0], region_name=PRIMARY)


def _answer(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://moto.invalid", 200, {}, None), parsed


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def _principal_statements(principal: str) -> list[dict[str, Any]] | None:
    """The statements of every policy of a moto role or user (None: moto does not know the principal)."""
    iam = boto3.Session(botocore_session=_BOTOCORE[0]).client("iam")
    kind, name = principal.split(":", 5)[5].split("/")[0], principal.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            inline = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                      for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
            attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        else:
            inline = [iam.get_user_policy(UserName=name, PolicyName=p)["PolicyDocument"]
                      for p in iam.list_user_policies(UserName=name)["PolicyNames"]]
            attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    except iam.exceptions.NoSuchEntityException:
        return None
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        inline.append(iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"])
    return [st for doc in inline for st in _statements(doc)]


def _matches(patterns: Any, value: str, fold: bool) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value.lower() if fold else value, p.lower() if fold else p) for p in patterns)


def simulate_principal_policy(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """iam:SimulatePrincipalPolicy over the policies moto holds (moto does not implement it): allowed when an
    Allow statement matches action and resource and no Deny does. A principal moto does not know (the
    tests' environment identity) is allowed everything: moto enforces no permission either."""
    body = params["body"]
    arn = body["PolicySourceArn"]
    actions = [v for k, v in sorted(body.items()) if k.startswith("ActionNames.member.")]
    resources = [v for k, v in sorted(body.items()) if k.startswith("ResourceArns.member.")] or ["*"]
    statements = _principal_statements(arn)
    results = []
    for action in actions:
        for resource in resources:
            if statements is None:
                decision = "allowed"
            else:
                hits = [st["Effect"] for st in statements
                        if _matches(st.get("Action", []), action, True) and _matches(st.get("Resource", []), resource, False)]
                decision = "explicitDeny" if "Deny" in hits else "allowed" if "Allow" in hits else "implicitDeny"
            results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision})
    return _answer({"EvaluationResults": results, "IsTruncated": False})


# Calls moto does not implement, answered as AWS would for the moto stack (a `before-call` handler that
# returns a response short-circuits the request). Tests that need other answers use a Stubber.
MOTO_GAPS: dict[str, Any] = {
    "before-call.iam.SimulatePrincipalPolicy": simulate_principal_policy,
    # No Kinesis streaming destination on the test tables.
    "before-call.dynamodb.DescribeKinesisStreamingDestination": lambda params, **_: _answer(
        {"TableName": json.loads(params["body"])["TableName"], "KinesisDataStreamDestinations": []}
    ),
}


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
            RoleName="hanbit-drill-fis",
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
        # The manual's two detection alarms, and a guard: errors far beyond the drill's blast radius.
        for name in (*DETECTION_ALARMS, GUARD_ALARM):
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
        alarms = [a["AlarmArn"] for a in cw.describe_alarms(AlarmNames=[GUARD_ALARM])["MetricAlarms"]]
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
            api_url=PRIMARY_URL,
            failover_url=FAILOVER_URL,
            secondary_api_url=SECONDARY_URL,
            fis_role_arn=fis_role,
            stop_alarm_arns=alarms,
            alarm_names=list(DETECTION_ALARMS),
            health_check_id=health,
        )
        built = Stack(session, target, FakeClock())
        yield built
        for provider in built.providers:
            provider.close()
