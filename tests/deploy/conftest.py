"""deploy/*.yaml created in moto's CloudFormation (completed by tests/deploy/moto_cfn.py), and the Lambda
package `hanbit-drill package-lambda` builds. Fake credentials; no real AWS call is ever made."""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ssm.models import Parameter, ssm_backends

from scenarios.package_commands import LambdaPackage, build_package


def _load_helper(name: str) -> ModuleType:
    """A module beside this file (the tests run with --import-mode=importlib: `tests` is no package)."""
    if f"hanbit_deploy_{name}" in sys.modules:  # conftest imported again (by a test module): one copy only
        return sys.modules[f"hanbit_deploy_{name}"]
    spec = importlib.util.spec_from_file_location(f"hanbit_deploy_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


moto_cfn = _load_helper("moto_cfn")

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
FIS_LAYER_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x"
CODE_BUCKET, CODE_KEY = "hanbit-artifacts", "todo-api-0001.zip"
REPOSITORY = "hanbit/todo-app"
USER_POOL = "ap-northeast-2_AbCdEf123"  # the target's cognito.user_pool_id (the prerequisites' UserPoolId)


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


@pytest.fixture(scope="session")
def lambda_package(tmp_path_factory: pytest.TempPathFactory) -> LambdaPackage:
    """The real package, built once (pip fetches Lambda-platform wheels: a few seconds with its cache)."""
    return build_package(tmp_path_factory.mktemp("package") / "todo-api.zip")


def template(name: str) -> str:
    return (DEPLOY / name).read_text(encoding="utf-8")


def _seed_public_fis_parameter(region: str, layer_arn: str) -> None:
    # AWS publishes this parameter in every region; moto refuses /aws/... names to callers, so it goes
    # into moto's store directly.
    ssm_backends[ACCOUNT][region]._parameters[FIS_LAYER_PARAMETER].append(Parameter(
        account_id=ACCOUNT, name=FIS_LAYER_PARAMETER, value=layer_arn, parameter_type="String", description=None,
        allowed_pattern=None, keyid=None, last_modified_date=0.0, version=1, data_type="text",
    ))


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("extension.txt", "stands in for the FIS extension layer")
    return buf.getvalue()


@dataclass
class Deployed:
    session: boto3.Session
    prerequisites: dict[str, str]  # outputs
    reference: dict[str, dict[str, str]]  # region -> outputs
    health_check_id: str

    def client(self, service: str, region: str = PRIMARY) -> Any:
        return self.session.client(service, region_name=region)

    def resources(self, stack: str, region: str = PRIMARY) -> dict[str, dict[str, Any]]:
        found = self.client("cloudformation", region).describe_stack_resources(StackName=stack)["StackResources"]
        return {r["LogicalResourceId"]: r for r in found}


def create_stack(session: boto3.Session, region: str, name: str, body: str, parameters: dict[str, str]) -> dict[str, str]:
    cfn = session.client("cloudformation", region_name=region)
    cfn.create_stack(
        StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@contextmanager
def deployed_stacks(package: LambdaPackage) -> Iterator[Deployed]:
    """Both templates as docs/aws.md deploys them: the prerequisites in the home region, then the reference
    stack in both regions on the packaged code, with the FIS extension wired to the prerequisites' bucket."""
    moto_cfn.install()
    with mock_aws():
        session = boto3.Session(region_name=PRIMARY)
        health = session.client("route53").create_health_check(
            CallerReference="primary",
            HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "api.example.com", "ResourcePath": "/health",
                               "Port": 443, "RequestInterval": 30, "FailureThreshold": 3},
        )["HealthCheck"]["Id"]
        prerequisites = create_stack(session, PRIMARY, "hanbit-drill-prerequisites", template("drill-prerequisites.yaml"),
                                     {"GitHubRepository": REPOSITORY, "HealthCheckId": health,
                                      "UserPoolId": USER_POOL})
        reference = {}
        for region in (PRIMARY, SECONDARY):
            layer = session.client("lambda", region_name=region).publish_layer_version(
                LayerName="aws-fis-extension-x86_64", Content={"ZipFile": _empty_zip()})["LayerVersionArn"]
            _seed_public_fis_parameter(region, layer)
            s3 = session.client("s3", region_name=region)
            bucket = f"{CODE_BUCKET}-{region}"
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_object(Bucket=bucket, Key=CODE_KEY, Body=package.path.read_bytes())
            parameters = {"CodeS3Bucket": bucket, "CodeS3Key": CODE_KEY}
            if region == PRIMARY:  # the FIS Lambda faults run in the home region (its bucket)
                parameters["FisConfigBucket"] = prerequisites["FisConfigBucketName"]
            reference[region] = create_stack(session, region, "hanbit-todo", template("reference-stack.yaml"), parameters)
        yield Deployed(session, prerequisites, reference, health)


@pytest.fixture(scope="module")
def deployed(lambda_package: LambdaPackage) -> Iterator[Deployed]:
    """One deployment for a module whose tests only read it."""
    with deployed_stacks(lambda_package) as stacks:
        yield stacks
