"""Preflight checks shared by several handlers. Each returns one clear message per problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

from chaos.aws.context import FIS_EXEC_WRAPPER, AwsContext
from chaos.aws.errors import AwsApiError
from chaos.aws.function import LambdaFunction, env_vars, layer_arns
from chaos.aws.limits import AwsLimitError


def guarded(check: Callable[[], list[str]], what: str) -> list[str]:
    """Run a check; an AWS error while checking (or a name AWS would refuse) is itself the problem to report."""
    try:
        return check()
    except (AwsApiError, AwsLimitError) as exc:
        return [f"{what}: {exc}"]


def function_problems(ctx: AwsContext, region: str | None = None) -> list[str]:
    fn = LambdaFunction(ctx, region)

    def check() -> list[str]:
        found = ctx.clients.call(
            "lambda",
            "get_function_configuration",
            fn.region,
            FunctionName=fn.name,
            ignore=("ResourceNotFoundException",),
        )
        if found is None:
            return [f"Lambda function {fn.name} does not exist in {fn.region}"]
        alias = ctx.clients.call(
            "lambda", "get_alias", fn.region, FunctionName=fn.name, Name=fn.alias, ignore=("ResourceNotFoundException",)
        )
        if alias is None:
            return [f"alias {fn.alias} of Lambda function {fn.name} does not exist in {fn.region}"]
        return []

    return guarded(check, f"checking Lambda function {fn.name} in {fn.region}")


def publish_problems(ctx: AwsContext) -> list[str]:
    """Can the drill publish a variant of the served version from $LATEST?"""
    fn = LambdaFunction(ctx)

    def check() -> list[str]:
        problems = []
        alias = fn.get_alias()
        if alias.weights:
            problems.append(
                f"alias {fn.alias} already routes traffic to versions {sorted(alias.weights)} "
                f"(a canary deploy in progress?); finish it before the drill"
            )
        drift = fn.drift(alias.version)
        if drift:
            problems.append(
                f"$LATEST of {fn.name} differs from version {alias.version} behind {fn.alias} in "
                f"{', '.join(drift)}; the drill publishes versions from $LATEST: publish or reset it first"
            )
        return problems

    return guarded(check, f"checking versions of {fn.name}")


def fis_problems(ctx: AwsContext, lambda_target: bool) -> list[str]:
    target = ctx.target
    if not target.use_fis:
        return ["needs AWS FIS, but the target sets use_fis: false"]
    problems = []
    if not target.fis_role_arn:
        problems.append("the target has no fis_role_arn (the IAM role FIS assumes to run experiments)")
    else:
        problems += guarded(lambda: _role_problems(ctx, target.fis_role_arn or ""), "checking the FIS role")
    problems += guarded(lambda: _alarm_problems(ctx), "checking the stop-condition alarms")
    if lambda_target:
        problems += guarded(lambda: _extension_problems(ctx), "checking the FIS Lambda extension")
    return problems


def _role_problems(ctx: AwsContext, role_arn: str) -> list[str]:
    name = role_arn.rsplit("/", 1)[-1]
    found = ctx.clients.call("iam", "get_role", RoleName=name, ignore=("NoSuchEntity",))
    if found is None:
        return [f"FIS role {role_arn} does not exist"]
    doc = found["Role"].get("AssumeRolePolicyDocument", {})
    if isinstance(doc, str):
        doc = json.loads(unquote(doc))
    if "fis.amazonaws.com" not in json.dumps(doc):
        return [f"FIS role {role_arn} does not trust fis.amazonaws.com (its trust policy must allow sts:AssumeRole)"]
    return []


def _alarm_problems(ctx: AwsContext) -> list[str]:
    arns = ctx.target.stop_alarm_arns
    if not arns:
        return []
    names = [arn.split(":alarm:", 1)[-1] for arn in arns]
    found = ctx.call("cloudwatch", "describe_alarms", AlarmNames=names)
    states = {a["AlarmName"]: a["StateValue"] for a in found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])}
    problems = []
    for name in names:
        if name not in states:
            problems.append(f"stop-condition alarm {name} does not exist in {ctx.target.region}")
        elif states[name] == "ALARM":
            problems.append(f"stop-condition alarm {name} is already in ALARM: FIS would stop the fault at once")
    return problems


def _extension_problems(ctx: AwsContext) -> list[str]:
    fn = LambdaFunction(ctx)
    config = fn.configuration(fn.get_alias().version)
    label = f"{fn.name}:{fn.alias} (version {config.get('Version')})"
    problems = []
    arch = (config.get("Architectures") or ["x86_64"])[0]
    expected = _extension_layer(ctx, arch)
    layers = [arn.rsplit(":", 1)[0] for arn in layer_arns(config)]  # compare without the layer version
    if expected is not None:
        if expected.rsplit(":", 1)[0] not in layers:
            problems.append(f"{label} lacks the FIS Lambda extension layer {expected}")
    elif not any("fis-extension" in arn.lower() for arn in layers):
        problems.append(f"{label} has no FIS Lambda extension layer (aws-fis-extension-{arch})")
    env = env_vars(config)
    if env.get("AWS_LAMBDA_EXEC_WRAPPER") != FIS_EXEC_WRAPPER:
        problems.append(f"{label} must set AWS_LAMBDA_EXEC_WRAPPER={FIS_EXEC_WRAPPER} for the FIS extension")
    location = env.get("AWS_FIS_CONFIGURATION_LOCATION", "")
    if not location.startswith("arn:aws:s3:::"):
        problems.append(
            f"{label} must set AWS_FIS_CONFIGURATION_LOCATION to the S3 ARN FIS writes fault "
            f"configuration to (e.g. arn:aws:s3:::my-fis-bucket/FisConfigs/)"
        )
    return problems


def _extension_layer(ctx: AwsContext, arch: str) -> str | None:
    """The layer ARN AWS publishes for this region and architecture, or None when it cannot be read."""
    name = ctx.settings.fis_extension_parameter.format(arch=arch)
    found = ctx.clients.call("ssm", "get_parameter", Name=name, ignore=("ParameterNotFound", "AccessDeniedException"))
    return None if found is None else str(found["Parameter"]["Value"])
