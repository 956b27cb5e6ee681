"""Permission preflight: may the caller make every AWS call the drill will make? Asked before the first fault.

An AccessDenied at remediation time leaves the fault in place until the revert path (and the RTO is
lost); one at revert time leaves it in staging. So preflight asks IAM itself, with
iam:SimulatePrincipalPolicy on the caller, for every action of the drill's plan on the resource it will
act on, and lists every missing one at once.

The actions come from the provider's own `plan` lines (`service:Operation`, with the resource named in
the line): a test checks that every call an action really makes appears in its plan, so the list is
complete by construction. Calls that need permissions beyond their own name are added from IMPLIED
(AWS documents them: a restore writes the items as the caller, FIS passes its role and tags).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from chaos.aws.context import AwsContext

# `lambda:UpdateAlias`, `route53-recovery-cluster:UpdateRoutingControlState` as a word of a plan line: never a
# piece of an ARN or a FIS parameter (`{duration:PT180M}`).
_CALL = re.compile(r"(?:^|(?<=\s))([a-z][a-z0-9-]*):([A-Z][A-Za-z0-9]+)\b")
_REGION = re.compile(r"\(in ([a-z]{2}(?:-[a-z]+)+-\d)")
_ITEM_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem")

# sts:GetCallerIdentity needs no permission (AWS: "No permissions are required to perform this operation").
NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})
# Permissions a call needs besides its own name, as the AWS documentation lists them.
IMPLIED: dict[str, tuple[str, ...]] = {
    # DynamoDB developer guide, "Restoring a table": the restore writes the items as the caller.
    "dynamodb:RestoreTableToPointInTime": tuple(f"dynamodb:{op}" for op in _ITEM_WRITES),
    "dynamodb:RestoreTableFromBackup": tuple(f"dynamodb:{op}" for op in _ITEM_WRITES),
    # FIS user guide, "IAM policies": tagging on create and start, and passing the experiment role.
    "fis:CreateExperimentTemplate": ("fis:TagResource", "iam:PassRole"),
    "fis:StartExperiment": ("fis:TagResource",),
    # ARC: the harness finds the cluster endpoints from the routing control.
    "route53-recovery-control-config:DescribeRoutingControl": (
        "route53-recovery-control-config:DescribeControlPanel",
        "route53-recovery-control-config:DescribeCluster",
    ),
}


@dataclass(frozen=True)
class Need:
    action: str  # IAM action, e.g. "lambda:UpdateAlias"
    resource: str  # the ARN it acts on, or "*"


def principal_arn(caller: str) -> str | None:
    """The IAM principal SimulatePrincipalPolicy takes for a GetCallerIdentity ARN (None: none to simulate).

    An assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) is simulated as its role
    (`arn:aws:iam::ACCOUNT:role/ROLE`; a role path is added by the caller from iam:GetRole)."""
    parts = caller.split(":", 5)
    if len(parts) < 6:
        return None
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        return f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
    if service == "sts" and resource.startswith("user/"):
        return f"arn:{partition}:iam::{account}:{resource}"
    if service == "iam" and resource.startswith(("user/", "role/")):
        return caller
    return None  # the account root (may do anything) or a federated user (IAM cannot simulate one)


class PermissionCheck:
    def __init__(self, ctx: AwsContext) -> None:
        self.ctx = ctx

    def needs(self, plan_lines: Iterable[str], account: str) -> list[Need]:
        found: dict[Need, None] = {}
        for line in plan_lines:
            region = (m.group(1) if (m := _REGION.search(line)) else None) or self.ctx.target.region
            for service, op in _CALL.findall(line):
                action = f"{service}:{op}"
                if action in NO_PERMISSION:
                    continue
                found[Need(action, self._resource(service, op, line, region, account))] = None
                for implied in IMPLIED.get(action, ()):
                    implied_service, implied_op = implied.split(":")
                    found[Need(implied, self._resource(implied_service, implied_op, line, region, account))] = None
        return list(found)

    def problems(self, plan_lines: Iterable[str], caller: str) -> list[str]:
        principal = principal_arn(caller)
        if principal is None:
            return []
        principal = self._with_role_path(principal)
        account = caller.split(":")[4]
        by_resource: dict[str, list[str]] = {}
        for need in self.needs(plan_lines, account):
            by_resource.setdefault(need.resource, []).append(need.action)
        denied: dict[str, list[str]] = {}
        for resource, actions in by_resource.items():
            for page in self.ctx.clients.paginate(
                "iam",
                "simulate_principal_policy",
                PolicySourceArn=principal,
                ActionNames=sorted(actions),
                ResourceArns=[resource],
            ):
                for result in page.get("EvaluationResults", []):
                    if result["EvalDecision"] != "allowed":
                        why = "explicitly denied" if result["EvalDecision"] == "explicitDeny" else "not allowed"
                        denied.setdefault(result["EvalActionName"], []).append(f"{resource} ({why})")
        return [
            f"{principal} may not {action} on {', '.join(resources)}: the drill makes this call; grant it "
            f"(docs/aws.md, IAM for the harness) before any fault is injected"
            for action, resources in sorted(denied.items())
        ]

    def _with_role_path(self, principal: str) -> str:
        # SimulatePrincipalPolicy needs the role's full ARN, path included; an assumed-role ARN omits the path.
        if ":role/" not in principal:
            return principal
        name = principal.rsplit("/", 1)[-1]
        found = self.ctx.clients.call("iam", "get_role", RoleName=name, ignore=("AccessDenied", "NoSuchEntity"))
        return str(found["Role"]["Arn"]) if found else principal

    def _resource(self, service: str, op: str, line: str, region: str, account: str) -> str:
        target = self.ctx.target
        if service == "lambda":
            if op == "ListEventSourceMappings":
                return "*"  # no resource-level permission (Lambda: actions, resources and condition keys)
            function = f"arn:aws:lambda:{region}:{account}:function:{target.function}"
            # A call with a Qualifier is authorized against the qualified ARN (a version, an alias): deleting a
            # bad version is `function:todo-api:7`, never the function itself. A planned version (`<bad>`) is `*`.
            qualifier = re.search(r"(?<![A-Za-z])Qualifier=(\S+)", line)
            if qualifier:
                return f"{function}:{'*' if qualifier.group(1).startswith('<') else qualifier.group(1)}"
            return function
        if service == "dynamodb":
            if op == "ListBackups":
                return "*"
            if op == "DescribeBackup":
                return f"arn:aws:dynamodb:{region}:{account}:table/{target.table}/backup/*"
            table = _param(line, "TargetTableName") or _param(line, "TableName") or _arn_of(line) or target.table
            return f"arn:aws:dynamodb:{region}:{account}:table/{table}"
        if service == "ssm":
            name = _param(line, "Name") or _param(line, "Path")
            return f"arn:aws:ssm:{region}:{account}:parameter{name}" if name and name.startswith("/") else "*"
        if service == "iam":
            return target.fis_role_arn or "*"
        if service == "cognito-idp" and target.cognito is not None:
            # The load's accounts: the pool's own region, which its id names (the line says it too).
            pool = target.cognito.user_pool_id
            return f"arn:aws:cognito-idp:{pool.split('_', 1)[0]}:{account}:userpool/{pool}"
        if service == "route53" and target.health_check_id:
            return f"arn:aws:route53:::healthcheck/{target.health_check_id}"
        if service == "route53-recovery-cluster" and target.routing_control_arn:
            return target.routing_control_arn
        return "*"  # actions without resource-level permissions (DescribeAlarms, FIS templates made at run time)


def _param(line: str, name: str) -> str | None:
    found = re.search(rf"(?<![A-Za-z]){name}=([^\s<'\"]\S*)", line)
    return found.group(1) if found else None


def _arn_of(line: str) -> str | None:
    """`ResourceArn=<todos ARN>` in a plan line: the table it names."""
    found = re.search(r"ResourceArn='?<(\S+) ARN>", line)  # quoted when the placeholder has a space
    return found.group(1) if found else None
