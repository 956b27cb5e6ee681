"""deploy/*.yaml: cfn-lint passes, and moto's CloudFormation creates every resource as the template says."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from cfnlint.decode import decode_str

from service.api.routes import ROUTES, Integration
from service.store.dynamodb import DynamoTodoStore

from .conftest import DEPLOY, PRIMARY, SECONDARY, moto_cfn, template

TEMPLATES = sorted(DEPLOY.glob("*.yaml"))


def test_cfn_lint_passes_on_every_template() -> None:
    assert [p.name for p in TEMPLATES] == ["drill-prerequisites.yaml", "reference-stack.yaml"]
    # The console script's own entry point, run as CI runs `cfn-lint deploy/*.yaml`.
    done = subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                           *map(str, TEMPLATES)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr


def _resources(name: str) -> dict[str, Any]:
    decoded, problems = decode_str(template(name))
    assert not problems and decoded is not None
    return dict(decoded["Resources"])


@pytest.mark.parametrize("name", ["drill-prerequisites.yaml", "reference-stack.yaml"])
def test_every_resource_type_has_a_complete_moto_model(name: str) -> None:
    """A type moto's CloudFormation skips would leave the stack 'complete' with the resource missing."""
    types = {r["Type"] for r in _resources(name).values()}
    assert types <= moto_cfn.SUPPORTED, types - moto_cfn.SUPPORTED


def test_moto_creates_every_resource_of_both_stacks(deployed) -> None:
    prerequisites = _resources("drill-prerequisites.yaml")
    # OperatorGiven is false here: no resource depends on it; every other condition holds in this deployment.
    assert set(deployed.resources("hanbit-drill-prerequisites")) == set(prerequisites)
    reference = _resources("reference-stack.yaml")
    for region in (PRIMARY, SECONDARY):
        assert set(deployed.resources("hanbit-todo", region)) == set(reference), region


def test_the_table_is_the_stores_layout_with_point_in_time_recovery(deployed) -> None:
    ddb = deployed.client("dynamodb")
    table = ddb.describe_table(TableName="todos")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"userId": "HASH", "todoId": "RANGE"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = ddb.describe_continuous_backups(TableName="todos")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # The store writes these very keys: a row it writes is a row of this table.
    assert DynamoTodoStore._key("u", "t") == {"userId": {"S": "u"}, "todoId": {"S": "t"}}


def test_live_serves_the_packaged_handler_with_the_fis_extension_in_the_home_region(deployed, lambda_package) -> None:
    lam = deployed.client("lambda")
    alias = lam.get_alias(FunctionName="todo-api", Name="LIVE")
    served = lam.get_function_configuration(FunctionName="todo-api", Qualifier="LIVE")
    latest = lam.get_function_configuration(FunctionName="todo-api")
    assert served["Version"] == alias["FunctionVersion"] == "1"
    assert served["Handler"] == latest["Handler"] == "service.api.lambda_entry.handler"
    assert served["Runtime"] == "python3.11"
    assert latest["CodeSha256"] == lambda_package.code_sha256  # the zip package-lambda wrote
    env = served["Environment"]["Variables"]
    bucket = deployed.prerequisites["FisConfigBucketName"]
    assert env == {
        "TABLE_NAME": "todos",
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
        "AWS_FIS_CONFIGURATION_LOCATION": f"arn:aws:s3:::{bucket}/FisConfigs/",
        "AWS_FIS_POLL_MAX_WAIT_MILLISECONDS": "2000",
    }
    assert deployed.prerequisites["FisConfigurationLocation"] == env["AWS_FIS_CONFIGURATION_LOCATION"]
    assert [layer["Arn"].split(":")[6] for layer in served["Layers"]] == ["aws-fis-extension-x86_64"]
    # Without a FIS bucket (the secondary region here) the extension is left out.
    secondary = deployed.client("lambda", SECONDARY).get_function_configuration(FunctionName="todo-api")
    assert secondary["Environment"]["Variables"] == {"TABLE_NAME": "todos"} and not secondary.get("Layers")


def _methods(deployed, region: str = PRIMARY) -> dict[tuple[str, str], dict[str, Any]]:
    api = deployed.client("apigateway", region)
    api_id = deployed.reference[region]["ApiUrl"].split("//")[1].split(".")[0]
    found = {}
    for resource in api.get_resources(restApiId=api_id)["items"]:
        for method in resource.get("resourceMethods") or {}:
            found[(method, resource["path"])] = api.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
    return found


def test_the_api_has_one_method_per_route_of_todo_api(deployed) -> None:
    """The route table is what the handler dispatches on: the stack must route the same operations."""
    routes = {(r.method, r.resource): r for r in ROUTES if r.integration is Integration.TODO_API}
    methods = _methods(deployed)
    assert set(methods) == set(routes)
    api = deployed.client("apigateway")
    api_id = deployed.reference[PRIMARY]["ApiUrl"].split("//")[1].split(".")[0]
    (authorizer,) = api.get_authorizers(restApiId=api_id)["items"]
    pool = deployed.client("cognito-idp").describe_user_pool(UserPoolId=deployed.reference[PRIMARY]["UserPoolId"])
    assert authorizer["type"] == "COGNITO_USER_POOLS" and authorizer["providerARNs"] == [pool["UserPool"]["Arn"]]
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    for key, route in routes.items():
        method = methods[key]
        assert method["operationName"] == route.operation, key
        if route.auth:
            assert (method["authorizationType"], method.get("authorizerId")) == ("COGNITO_USER_POOLS", authorizer["id"]), key
        else:
            assert method["authorizationType"] == "NONE", key
        integration = method["methodIntegration"]
        assert integration["type"] == "AWS_PROXY", key
        # The alias, never $LATEST: rolling LIVE back is what rolls the API back.
        assert integration["uri"].endswith(":function:todo-api:LIVE/invocations"), key


def test_the_manuals_alarms_watch_the_api_stage(deployed) -> None:
    alarms = {a["AlarmName"]: a for a in deployed.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    error_rate = alarms[deployed.prerequisites["ErrorRateAlarmName"]]
    latency = alarms[deployed.prerequisites["LatencyAlarmName"]]
    stage = [{"Name": "ApiName", "Value": deployed.reference[PRIMARY]["ApiName"]},
             {"Name": "Stage", "Value": deployed.reference[PRIMARY]["StageName"]}]
    for alarm in (error_rate, latency):
        assert alarm["Namespace"] == "AWS/ApiGateway" and alarm["Dimensions"] == stage
        assert (alarm["Period"], alarm["EvaluationPeriods"]) == (300, 1)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert (error_rate["MetricName"], error_rate["Statistic"], error_rate["Threshold"]) == ("5XXError", "Average", 0.05)
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == ("Latency", "p90", 1000.0)
