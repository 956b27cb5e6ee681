"""The AWS provider against the stacks the templates create: preflight, plan, a drill, and the roles' policies
against every call the provider says it makes (its permission preflight's own list, chaos.aws.permissions)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chaos.actions import ActionCall
from chaos.aws.permissions import PermissionCheck
from chaos.aws.provider import AwsProvider
from chaos.targets import AwsTarget
from scenarios.loader import load_config

from .conftest import ACCOUNT, PRIMARY, REPOSITORY, ROOT, SECONDARY, USER_POOL, _load_helper

iam_eval = _load_helper("iam_eval")
STAGING = "staging"


def target_of(deployed) -> AwsTarget:
    """The `staging` target of scenarios.yaml as the stacks' outputs fill it in (docs/aws.md)."""
    ref = deployed.reference[PRIMARY]
    return AwsTarget(
        api_url=ref["ApiUrl"], secondary_api_url=deployed.reference[SECONDARY]["ApiUrl"],
        region=PRIMARY, secondary_region=SECONDARY,
        function=ref["FunctionName"], alias=ref["AliasName"], table=ref["TableName"],
        fis_role_arn=deployed.prerequisites["FisRoleArn"],
        alarm_names=[deployed.prerequisites["ErrorRateAlarmName"], deployed.prerequisites["LatencyAlarmName"]],
        health_check_id=deployed.health_check_id,
    )


def shipped_scenarios(provider: AwsProvider) -> dict[str, list[ActionCall]]:
    """Every scenario of scenarios.yaml that may run on the staging target, with its provider calls."""
    config = load_config(ROOT / "scenarios.yaml")
    found = {}
    for name, scenario in config.scenarios.items():
        if STAGING in config.scenario_targets(name):
            steps = scenario.setup + scenario.faults + scenario.remediation + scenario.teardown
            found[name] = [s.call() for s in steps if s.call().name in provider.supported_actions]
    assert {"lambda-failure", "table-corruption", "region-outage", "ci-smoke"} <= set(found)
    return found


def test_plan_of_every_shipped_scenario_names_the_stacks_resources(deployed) -> None:
    provider = AwsProvider(target_of(deployed), deployed.session)
    for name, calls in shipped_scenarios(provider).items():
        for call in calls:
            lines = provider.plan(call)
            assert lines, (name, call.name)
            assert all(re.search(r"[a-z0-9-]+:[A-Z]", line) or line.startswith(("inject: (", "remediate: ("))
                       for line in lines), lines
    assert provider.clients.calls == []  # plan touches nothing


@pytest.fixture
def preflight_as_environment(deployed):
    """Preflight checks as the environment's identity (moto's default user): every check but the roles'."""
    provider = AwsProvider(target_of(deployed), deployed.session)
    yield provider
    provider.close()


def test_preflight_finds_nothing_missing_for_the_shipped_drills(deployed, preflight_as_environment) -> None:
    provider = preflight_as_environment
    deployed.session.events.register("before-call.iam.SimulatePrincipalPolicy", _simulate(deployed))
    try:
        problems = {name: provider.preflight(calls) for name, calls in shipped_scenarios(provider).items()}
    finally:
        deployed.session.events.unregister("before-call.iam.SimulatePrincipalPolicy", _simulate(deployed))
    # The region drill also needs failover routing (a Route 53 failover record for the clients), which the
    # reference stack does not create (docs/aws.md); everything else preflight checks is in place.
    region = problems.pop("region-outage")
    assert len(region) == 1 and region[0].startswith("region drill: the target has no failover_url"), region
    assert {name: found for name, found in problems.items() if found} == {}


def _simulate(deployed):
    """iam:SimulatePrincipalPolicy (moto lacks it) over moto's policies with tests/deploy/iam_eval.py."""
    def handler(params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = params["body"]
        role = body["PolicySourceArn"].rsplit("/", 1)[-1]
        iam = deployed.client("iam")
        known = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        policy = iam_eval.role_policy(iam, role) if role in known else None
        results = []
        actions = [v for k, v in sorted(body.items()) if k.startswith("ActionNames.member.")]
        for action in actions:
            for resource in [v for k, v in sorted(body.items()) if k.startswith("ResourceArns.member.")] or ["*"]:
                verdict = "allowed" if policy is None else iam_eval.decision(policy, action, resource)
                results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": verdict})
        return AWSResponse("https://iam.amazonaws.com", 200, {}, None), {"EvaluationResults": results, "IsTruncated": False}
    handler.__name__ = "simulate_principal_policy"
    return _SIMULATE.setdefault("handler", handler)


_SIMULATE: dict[str, Any] = {}


def _drill_needs(deployed) -> dict[str, list[Any]]:
    """What the permission preflight asks IAM for, per shipped scenario."""
    provider = AwsProvider(target_of(deployed), deployed.session)
    check = PermissionCheck(provider.ctx)
    return {name: check.needs([line for call in calls for line in provider.plan(call)], ACCOUNT)
            for name, calls in shipped_scenarios(provider).items()}


def test_the_drill_role_allows_every_call_of_the_shipped_drills(deployed) -> None:
    policy = iam_eval.role_policy(deployed.client("iam"), "hanbit-drill")
    denied = []
    for name, needs in _drill_needs(deployed).items():
        for need in needs:
            resource = need.resource
            verdict = iam_eval.decision(policy, need.action, resource)
            if verdict != "allowed":
                denied.append(f"{name}: {need.action} on {resource}: {verdict}")
    assert denied == []


def test_the_permission_preflight_names_the_resources_iam_authorizes(deployed) -> None:
    policy = iam_eval.role_policy(deployed.client("iam"), "hanbit-drill")
    needs = [n for found in _drill_needs(deployed).values() for n in found]
    assert all(iam_eval.decision(policy, n.action, n.resource) == "allowed" for n in needs)


def test_deleting_the_function_itself_is_denied(deployed) -> None:
    policy = iam_eval.role_policy(deployed.client("iam"), "hanbit-drill")
    function = f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:todo-api"
    assert iam_eval.decision(policy, "lambda:DeleteFunction", f"{function}:3") == "allowed"
    assert iam_eval.decision(policy, "lambda:DeleteFunction", function) == "explicitDeny"
    other = f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:billing-api"
    for action in ("lambda:DeleteFunction", "lambda:UpdateAlias", "lambda:UpdateFunctionConfiguration"):
        assert iam_eval.decision(policy, action, f"{other}:3") == "implicitDeny", action
    assert iam_eval.decision(policy, "dynamodb:DeleteTable", f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/todos") == "implicitDeny"
    assert iam_eval.decision(policy, "dynamodb:Scan", f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/users") == "implicitDeny"


def test_the_smoke_role_reads_only(deployed) -> None:
    iam = deployed.client("iam")
    policy = iam_eval.role_policy(iam, "hanbit-drill-ci-smoke")
    writes = ("Put", "Update", "Delete", "Create", "Publish", "Restore", "Start", "Stop", "Tag", "BatchWrite", "Pass")
    granted_writes = sorted({need.action for needs in _drill_needs(deployed).values() for need in needs
                             if need.action.split(":")[1].startswith(writes)
                             and iam_eval.decision(policy, need.action, need.resource) == "allowed"})
    assert granted_writes == []
    # What ci-smoke's preflight reads: the fault markers an earlier drill may have left.
    markers = f"arn:aws:ssm:{PRIMARY}:{ACCOUNT}:parameter/hanbit-drill/todo-api"
    assert iam_eval.decision(policy, "ssm:GetParametersByPath", markers) == "allowed"
    # CI assumes it with GitHub's OIDC token, for the configured repository and branch only.
    trust = iam_eval.statements(iam.get_role(RoleName="hanbit-drill-ci-smoke")["Role"]["AssumeRolePolicyDocument"])
    (statement,) = trust
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    token = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    allow = dict(statement, Action="sts:AssumeRoleWithWebIdentity", Resource="*")
    for sub, verdict in ((f"repo:{REPOSITORY}:ref:refs/heads/main", "allowed"),
                         (f"repo:{REPOSITORY}:ref:refs/heads/feature", "implicitDeny"),
                         ("repo:someone/else:ref:refs/heads/main", "implicitDeny")):
        context = {**token, "token.actions.githubusercontent.com:sub": sub}
        assert iam_eval.decision([allow], "sts:AssumeRoleWithWebIdentity", "*", context) == verdict, sub


def test_the_fis_role_is_for_fis_of_this_account_only(deployed) -> None:
    iam = deployed.client("iam")
    role = iam.get_role(RoleName=deployed.prerequisites["FisRoleArn"].rsplit("/", 1)[-1])["Role"]
    document = role["AssumeRolePolicyDocument"]
    (statement,) = iam_eval.statements(document if isinstance(document, dict) else json.loads(document))
    assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = iam_eval.role_policy(iam, role["RoleName"])
    bucket = deployed.prerequisites["FisConfigBucketName"]
    assert iam_eval.decision(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/FisConfigs/todo-api.json") == "allowed"
    assert iam_eval.decision(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/other") == "implicitDeny"


def _target_needs(deployed, lines_of) -> list[Any]:
    """What the permission preflight asks IAM for about `lines_of(provider)`, on a target with the pool."""
    from chaos.targets import CognitoPool

    target = target_of(deployed).model_copy(update={"cognito": CognitoPool(user_pool_id=USER_POOL, client_id="abc123")})
    provider = AwsProvider(target, deployed.session)
    return PermissionCheck(provider.ctx).needs(lines_of(provider), ACCOUNT)


def test_both_roles_allow_the_lease_the_loads_accounts_and_what_cleanup_reads(deployed) -> None:
    """Every drill (ci-smoke too) takes the lease and makes the load's Cognito accounts; cleanup finds markers
    and FIS templates and removes the accounts. The drill role may all of it; the smoke role all but undoing
    a fault (a FIS template an operator's drill left is found, and left to the drill role)."""
    iam = deployed.client("iam")
    pool = f"arn:aws:cognito-idp:{PRIMARY}:{ACCOUNT}:userpool/{USER_POOL}"
    drill_needs = _target_needs(deployed, lambda p: p.target_plan() + p.cleanup_plan())
    assert {("cognito-idp:AdminSetUserPassword", pool), ("cognito-idp:AdminDeleteUser", pool),
            ("fis:ListExperimentTemplates", "*")} <= {(n.action, n.resource) for n in drill_needs}
    drill = iam_eval.role_policy(iam, "hanbit-drill")
    assert [n for n in drill_needs if iam_eval.decision(drill, n.action, n.resource) != "allowed"] == []
    smoke = iam_eval.role_policy(iam, "hanbit-drill-ci-smoke")
    undoing = ("fis:StopExperiment", "fis:DeleteExperimentTemplate", "fis:GetExperiment")
    smoke_needs = [n for n in drill_needs if n.action not in undoing]
    assert [n for n in smoke_needs if iam_eval.decision(smoke, n.action, n.resource) != "allowed"] == []
    assert all(iam_eval.decision(smoke, a, "*") == "implicitDeny" for a in undoing[:2])
    # Its writes are its lease and the pool's users, no fault marker.
    marker = f"arn:aws:ssm:{PRIMARY}:{ACCOUNT}:parameter/hanbit-drill/todo-api/lambda.deploy-bad-version"
    assert iam_eval.decision(smoke, "ssm:PutParameter", marker) == "implicitDeny"
    other_pool = f"arn:aws:cognito-idp:{PRIMARY}:{ACCOUNT}:userpool/ap-northeast-2_Customers1"
    assert iam_eval.decision(smoke, "cognito-idp:AdminDeleteUser", other_pool) == "implicitDeny"
