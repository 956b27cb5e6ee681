"""Permission preflight (iam:SimulatePrincipalPolicy on the caller), under moto with roles of real policies.

moto does not implement SimulatePrincipalPolicy; conftest answers it from the policies moto holds for the
role (Allow matching action and resource, no Deny), so a partial policy misses exactly what it lacks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaos.actions import ActionCall
from chaos.aws.permissions import PermissionCheck, principal_arn
from common.errors import ExitCode, PreflightError
from scenarios.loader import load_config
from scenarios.models import resolve

ROOT = Path(__file__).parents[3]
ACCOUNT = "123456789012"  # moto's


def documented_policy() -> dict:
    """The harness policy docs/aws.md shows, for moto's account."""
    text = (ROOT / "docs" / "aws.md").read_text()
    block = text.split("### IAM for the harness", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block.replace("111122223333", ACCOUNT))


def shipped_calls() -> list[ActionCall]:
    """Every provider call of the shipped scenarios that run on the staging target, in its default profile."""
    config = load_config(ROOT / "scenarios.yaml")
    calls: dict[str, ActionCall] = {}
    for name in config.scenarios:
        if "staging" in config.scenario_targets(name):
            for call in resolve(config, name, "staging", "staging", allow_protected=True).provider_calls():
                calls[call.model_dump_json()] = call
    return list(calls.values())


def harness_role(stack, policy: dict, path: str = "/drills/") -> str:
    iam = stack.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName="hanbit-drill", Path=path, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(RoleName="hanbit-drill", PolicyName="drill", PolicyDocument=json.dumps(policy))
    return arn


def without(policy: dict, *actions: str) -> dict:
    statements = []
    for st in policy["Statement"]:
        kept = [a for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]) if a not in actions]
        if kept:
            statements.append({**st, "Action": kept})
    return {**policy, "Statement": statements}


def permission_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if " may not " in p]


def test_the_documented_policy_allows_every_call_of_the_shipped_drills(stack) -> None:
    role = harness_role(stack, documented_policy())
    provider = stack.provider(session=stack.session_as(role))
    calls = shipped_calls()
    assert {c.name for c in calls} >= {"table.corrupt", "table.restore", "region.outage", "region.failover"}
    assert permission_problems(provider.preflight(calls)) == []
    simulated = [c for c in provider.clients.calls if c.api == "iam:SimulatePrincipalPolicy"]
    # The assumed-role session is simulated as its role, path included (from iam:GetRole).
    assert simulated and {c.params["PolicySourceArn"] for c in simulated} == {role}
    assert role == f"arn:aws:iam::{ACCOUNT}:role/drills/hanbit-drill"


def test_a_partial_policy_lists_every_missing_call_at_once_and_injects_nothing(stack) -> None:
    policy = without(
        documented_policy(), "lambda:UpdateAlias", "ssm:DeleteParameter", "dynamodb:RestoreTableToPointInTime"
    )
    provider = stack.provider(session=stack.session_as(harness_role(stack, policy)))
    problems = provider.preflight(shipped_calls())
    missing = permission_problems(problems)
    role = f"arn:aws:iam::{ACCOUNT}:role/drills/hanbit-drill"
    assert [re.match(rf"{re.escape(role)} may not (\S+) on", p).group(1) for p in missing] == [
        "dynamodb:RestoreTableToPointInTime",
        "lambda:UpdateAlias",
        "ssm:DeleteParameter",
    ]
    assert (
        f"may not lambda:UpdateAlias on arn:aws:lambda:ap-northeast-2:{ACCOUNT}:function:todo-api (not allowed)"
        in missing[1]
    )
    assert (
        f"arn:aws:ssm:ap-northeast-2:{ACCOUNT}:parameter/hanbit-drill/todo-api/region.outage/ap-northeast-2"
        in missing[2]
    )
    made = {c.api for c in provider.clients.calls}
    assert not made & {"ssm:PutParameter", "lambda:PutFunctionConcurrency", "lambda:UpdateAlias", "dynamodb:UpdateItem"}
    assert PreflightError(missing).exit_code == ExitCode.TARGET_ERROR


def test_an_explicit_deny_is_named(stack) -> None:
    policy = documented_policy()
    policy["Statement"].append({"Effect": "Deny", "Action": "lambda:PutFunctionConcurrency", "Resource": "*"})
    provider = stack.provider(session=stack.session_as(harness_role(stack, policy)))
    missing = permission_problems(
        provider.preflight([ActionCall(name="lambda.reserved-concurrency", params={"limit": 0})])
    )
    assert len(missing) == 1 and "lambda:PutFunctionConcurrency" in missing[0] and "(explicitly denied)" in missing[0]


def test_the_needs_come_from_the_plan_with_what_aws_implies(stack) -> None:
    provider = stack.provider()
    lines = provider.plan(ActionCall(name="table.restore"))
    needs = {(n.action, n.resource) for n in PermissionCheck(provider.ctx).needs(lines, ACCOUNT)}
    restored = f"arn:aws:dynamodb:ap-northeast-2:{ACCOUNT}:table/todos-restored"
    # The restore writes the items as the caller (DynamoDB developer guide): item permissions on the target.
    assert ("dynamodb:RestoreTableToPointInTime", restored) in needs
    assert ("dynamodb:BatchWriteItem", restored) in needs and ("dynamodb:PutItem", restored) in needs
    # In the secondary region, on the alias it serves (a qualified call is authorized on the qualified ARN).
    assert (
        "lambda:GetFunctionConfiguration",
        f"arn:aws:lambda:ap-northeast-1:{ACCOUNT}:function:todo-api:LIVE",
    ) in needs
    # The restored table is tagged, not the source (the plan quotes the placeholder '<todos-restored ARN>').
    assert ("dynamodb:TagResource", restored) in needs
    bad = {
        (n.action, n.resource)
        for n in PermissionCheck(provider.ctx).needs(
            provider.plan(ActionCall(name="lambda.deploy-bad-version")), ACCOUNT
        )
    }
    # Deleting the bad version is authorized on a version ARN, never on the function itself.
    assert ("lambda:DeleteFunction", f"arn:aws:lambda:ap-northeast-2:{ACCOUNT}:function:todo-api:*") in bad
    assert ("lambda:DeleteFunction", f"arn:aws:lambda:ap-northeast-2:{ACCOUNT}:function:todo-api") not in bad
    assert not any(action == "sts:GetCallerIdentity" for action, _ in needs)


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:sts::123456789012:assumed-role/hanbit-drill/ci-run", "arn:aws:iam::123456789012:role/hanbit-drill"),
        ("arn:aws:iam::123456789012:user/ops/alice", "arn:aws:iam::123456789012:user/ops/alice"),
        ("arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/x"),
        ("arn:aws:iam::123456789012:root", None),
        ("arn:aws:sts::123456789012:federated-user/bob", None),
    ],
)
def test_the_principal_simulated_for_each_kind_of_caller(caller: str, principal: str | None) -> None:
    assert principal_arn(caller) == principal


POOL = "ap-northeast-2_AbCdEf123"  # the pool of docs/aws.md's examples
POOL_ARN = f"arn:aws:cognito-idp:ap-northeast-2:{ACCOUNT}:userpool/{POOL}"


def cognito_target() -> dict:
    from chaos.targets import CognitoPool

    return {"cognito": CognitoPool(user_pool_id=POOL, client_id="3n4b5urk1ft4fl3mg5e62d9ado")}


def test_the_documented_policy_allows_the_lease_the_loads_accounts_and_cleanup(stack) -> None:
    """Beside its actions, a drill takes the target's lease and makes the load's Cognito accounts; cleanup
    lists markers and FIS templates and removes the accounts: the documented policy allows all of it."""
    role = harness_role(stack, documented_policy())
    session = stack.session_as(role)
    provider = stack.provider(session=session, **cognito_target())
    # ci-smoke: no action, yet the lease and the accounts are asked about.
    assert permission_problems(provider.preflight([])) == []
    simulated = {(c.params["ResourceArns"][0], a) for c in provider.clients.calls
                 if c.api == "iam:SimulatePrincipalPolicy" for a in c.params["ActionNames"]}
    assert (POOL_ARN, "cognito-idp:AdminSetUserPassword") in simulated
    assert (f"arn:aws:ssm:ap-northeast-2:{ACCOUNT}:parameter/hanbit-drill/drill.lease/todo-api",
            "ssm:PutParameter") in simulated
    caller = session.client("sts").get_caller_identity()["Arn"]
    check = PermissionCheck(provider.ctx)
    assert check.problems(provider.cleanup_plan(), caller) == []
    needs = {(n.action, n.resource) for n in check.needs(provider.cleanup_plan(), ACCOUNT)}
    assert {("cognito-idp:ListUsers", POOL_ARN), ("cognito-idp:AdminDeleteUser", POOL_ARN),
            ("fis:ListExperimentTemplates", "*"), ("fis:DeleteExperimentTemplate", "*")} <= needs


def test_a_policy_without_the_cognito_admin_calls_is_refused_before_the_load(stack) -> None:
    policy = without(documented_policy(), "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminCreateUser")
    provider = stack.provider(session=stack.session_as(harness_role(stack, policy)), **cognito_target())
    missing = permission_problems(provider.preflight([]))
    assert [re.search(r" may not (\S+) on (\S+)", p).groups() for p in missing] == [
        ("cognito-idp:AdminCreateUser", POOL_ARN), ("cognito-idp:AdminSetUserPassword", POOL_ARN)]
