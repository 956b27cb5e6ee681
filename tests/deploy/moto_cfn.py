"""moto's CloudFormation, completed for the resource types of deploy/*.yaml.

moto's engine does the CloudFormation part (parameters, SSM parameter types, conditions, Ref, GetAtt, Sub,
If, dependency order, outputs), but its resource models skip some types (Lambda::Alias, CloudWatch::Alarm,
Cognito, ApiGateway::Authorizer/Stage, IAM::OIDCProvider, S3::BucketPolicy: left out with a warning) and
drop properties of others (Lambda::Function without layers or architectures, Lambda::Version without
description, DynamoDB::Table without PITR, ApiGateway::Method without authorizer or operation name). So the
stacks would "create" with whole resources and properties silently missing.

`install()` registers a model per type the templates use: the types above create their resource through
the moto API (boto3, inside the same mock) from *every* property the template gives; the others go to
moto's own model after `AWS::NoValue` is removed (moto leaves it as None, which its models trip on).
`UNHANDLED` lists what a model ignores, so a test can check the templates use nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

# Properties the models below do not pass on, by type (moto has no API for them): checked by the tests.
UNHANDLED: dict[str, set[str]] = {
    "AWS::ApiGateway::Stage": {"MethodSettings"},
    "AWS::Lambda::Function": {"TracingConfig"},
}


def strip_no_value(value: Any) -> Any:
    """The value without the None moto puts where a template says AWS::NoValue."""
    if isinstance(value, dict):
        return {k: strip_no_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_no_value(v) for v in value if v is not None]
    return value


class Created:
    """A resource created through the API: its physical id (what Ref gives) and its GetAtt attributes."""

    def __init__(self, physical_id: str, attributes: dict[str, Any] | None = None) -> None:
        self.physical_resource_id = physical_id
        self.attributes = attributes or {}

    def get_cfn_attribute(self, name: str) -> Any:
        if name not in self.attributes:
            raise KeyError(f"GetAtt {name}: the test's model does not know it (known: {sorted(self.attributes)})")
        return self.attributes[name]

    def is_created(self) -> bool:
        return True


Create = Callable[[str, dict[str, Any], str], Created]


def _client(service: str, region: str) -> Any:
    return boto3.session.Session().client(service, region_name=region)


def _function(name: str, props: dict[str, Any], region: str) -> Created:
    params = {k: v for k, v in props.items() if k not in UNHANDLED["AWS::Lambda::Function"]}
    params["FunctionName"] = name
    for number in ("MemorySize", "Timeout"):
        if number in params:
            params[number] = int(params[number])
    found = _client("lambda", region).create_function(**params)
    return Created(name, {"Arn": found["FunctionArn"]})


def _version(name: str, props: dict[str, Any], region: str) -> Created:
    found = _client("lambda", region).publish_version(**props)
    return Created(found["FunctionArn"], {"Version": found["Version"], "FunctionArn": found["FunctionArn"]})


def _alias(name: str, props: dict[str, Any], region: str) -> Created:
    found = _client("lambda", region).create_alias(**props)
    return Created(found["AliasArn"], {"AliasArn": found["AliasArn"]})


def _table(name: str, props: dict[str, Any], region: str) -> Created:
    params = {k: v for k, v in props.items()
              if k not in ("PointInTimeRecoverySpecification", "SSESpecification", "TimeToLiveSpecification")}
    params["TableName"] = name
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        params["SSESpecification"] = {"Enabled": sse["SSEEnabled"], **{k: v for k, v in sse.items() if k != "SSEEnabled"}}
    ddb = _client("dynamodb", region)
    found = ddb.create_table(**params)["TableDescription"]
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        ddb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr["PointInTimeRecoveryEnabled"]},
        )
    return Created(name, {"Arn": found["TableArn"], "StreamArn": found.get("LatestStreamArn", "")})


def _alarm(name: str, props: dict[str, Any], region: str) -> Created:
    params = {**props, "AlarmName": name}
    for number in ("Period", "EvaluationPeriods"):
        params[number] = int(params[number])
    params["Threshold"] = float(params["Threshold"])
    cw = _client("cloudwatch", region)
    cw.put_metric_alarm(**params)
    arn = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    return Created(name, {"Arn": arn})


def _user_pool(name: str, props: dict[str, Any], region: str) -> Created:
    params = {k: v for k, v in props.items() if k != "UserPoolName"}
    pool = _client("cognito-idp", region).create_user_pool(PoolName=props.get("UserPoolName", name), **params)["UserPool"]
    return Created(pool["Id"], {"Arn": pool["Arn"], "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}"})


def _user_pool_client(name: str, props: dict[str, Any], region: str) -> Created:
    params = dict(props)
    for number in ("IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity"):
        if number in params:
            params[number] = int(params[number])
    found = _client("cognito-idp", region).create_user_pool_client(**params)["UserPoolClient"]
    return Created(found["ClientId"], {"ClientId": found["ClientId"]})


def _authorizer(name: str, props: dict[str, Any], region: str) -> Created:
    found = _client("apigateway", region).create_authorizer(
        restApiId=props["RestApiId"], name=props["Name"], type=props["Type"],
        providerARNs=props.get("ProviderARNs", []), identitySource=props["IdentitySource"],
    )
    return Created(found["id"], {"AuthorizerId": found["id"]})


def _method(name: str, props: dict[str, Any], region: str) -> Created:
    api = _client("apigateway", region)
    common = {"restApiId": props["RestApiId"], "resourceId": props["ResourceId"], "httpMethod": props["HttpMethod"]}
    extra = {"authorizerId": props["AuthorizerId"]} if "AuthorizerId" in props else {}
    if "OperationName" in props:
        extra["operationName"] = props["OperationName"]
    api.put_method(**common, authorizationType=props["AuthorizationType"], **extra)
    integration = props["Integration"]
    api.put_integration(**common, type=integration["Type"], integrationHttpMethod=integration["IntegrationHttpMethod"],
                        uri=integration["Uri"])
    return Created(f"{props['RestApiId']}-{props['ResourceId']}-{props['HttpMethod']}")


def _stage(name: str, props: dict[str, Any], region: str) -> Created:
    deployment = props["DeploymentId"]
    if not isinstance(deployment, str):  # moto's Deployment model has no physical id: Ref gives the model
        deployment = deployment.id
    _client("apigateway", region).create_stage(
        restApiId=props["RestApiId"], stageName=props["StageName"], deploymentId=deployment,
        tracingEnabled=bool(props.get("TracingEnabled", False)),
    )
    return Created(props["StageName"])


def _oidc_provider(name: str, props: dict[str, Any], region: str) -> Created:
    found = _client("iam", region).create_open_id_connect_provider(
        Url=props["Url"], ClientIDList=props.get("ClientIdList", []), ThumbprintList=props.get("ThumbprintList", []),
    )
    return Created(found["OpenIDConnectProviderArn"], {"Arn": found["OpenIDConnectProviderArn"]})


def _bucket_policy(name: str, props: dict[str, Any], region: str) -> Created:
    _client("s3", region).put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return Created(props["Bucket"])


CREATED_THROUGH_API: dict[str, tuple[str, Create]] = {  # type -> (name property, how to create it)
    "AWS::Lambda::Function": ("FunctionName", _function),
    "AWS::Lambda::Version": ("", _version),
    "AWS::Lambda::Alias": ("", _alias),
    "AWS::DynamoDB::Table": ("TableName", _table),
    "AWS::CloudWatch::Alarm": ("AlarmName", _alarm),
    "AWS::Cognito::UserPool": ("", _user_pool),
    "AWS::Cognito::UserPoolClient": ("", _user_pool_client),
    "AWS::ApiGateway::Authorizer": ("", _authorizer),
    "AWS::ApiGateway::Method": ("", _method),
    "AWS::ApiGateway::Stage": ("", _stage),
    "AWS::IAM::OIDCProvider": ("", _oidc_provider),
    "AWS::S3::BucketPolicy": ("", _bucket_policy),
}
# moto's own models, fed the template without AWS::NoValue.
MOTO_MODELS = (
    "AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::S3::Bucket", "AWS::Lambda::Permission",
    "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Deployment", "AWS::Logs::LogGroup",
)
SUPPORTED = frozenset(CREATED_THROUGH_API) | frozenset(MOTO_MODELS)


def _api_model(cfn_type: str, name_property: str, create: Create) -> type[CloudFormationModel]:
    def create_from_cloudformation_json(cls: type, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Created:
        props = strip_no_value(cloudformation_json.get("Properties") or {})
        return create(resource_name, props, region_name)

    return type(CloudFormationModel)(cfn_type.replace("::", ""), (CloudFormationModel,), {
        "cloudformation_type": staticmethod(lambda: cfn_type),
        "cloudformation_name_type": staticmethod(lambda: name_property),
        "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
        "has_cfn_attr": classmethod(lambda cls, attr: True),
    })


def _cleaned_model(cfn_type: str, original: type[CloudFormationModel]) -> type[CloudFormationModel]:
    def create_from_cloudformation_json(cls: type, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        cleaned = strip_no_value(cloudformation_json)
        return original.create_from_cloudformation_json(resource_name, cleaned, account_id, region_name, **kwargs)

    name_type = original.cloudformation_name_type()
    return type(CloudFormationModel)(cfn_type.replace("::", "") + "WithoutNoValue", (CloudFormationModel,), {
        "cloudformation_type": staticmethod(lambda: cfn_type),
        "cloudformation_name_type": staticmethod(lambda: name_type),
        "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
        "has_cfn_attr": classmethod(lambda cls, attr: original.has_cfn_attr(attr)),
    })


_INSTALLED: list[type[CloudFormationModel]] = []


def install() -> None:
    """Register the models (once per process): moto's model map takes the last class of each type."""
    if _INSTALLED:
        return
    originals = parsing.get_model_map()
    missing = [t for t in MOTO_MODELS if t not in originals]
    if missing:
        raise RuntimeError(f"moto has no CloudFormation model for {missing} any more")
    for cfn_type, (name_property, create) in CREATED_THROUGH_API.items():
        _INSTALLED.append(_api_model(cfn_type, name_property, create))
    for cfn_type in MOTO_MODELS:
        _INSTALLED.append(_cleaned_model(cfn_type, originals[cfn_type]))
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
