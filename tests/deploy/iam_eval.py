"""IAM policy evaluation for the tests: may a set of statements make `action` on `resource`?

IAM's documented logic for identity policies: an explicit Deny wins, else an Allow whose Action and
Resource match (`*` and `?` wildcards; actions case-insensitive, resources case-sensitive) and whose
conditions hold, else an implicit deny. Conditions are evaluated against the request context the test
gives; an operator this module does not know fails the test instead of guessing.
"""

from __future__ import annotations

import ast
import fnmatch
import json
from collections.abc import Mapping
from typing import Any


def statements(document: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            doc = json.loads(document)
        except json.JSONDecodeError:  # moto keeps a role's inline policy from CloudFormation as a Python repr
            doc = ast.literal_eval(document)
    else:
        doc = document
    found = doc["Statement"]
    return [s for s in (found if isinstance(found, list) else [found]) if s]


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _match(patterns: Any, value: str, fold: bool) -> bool:
    return any(fnmatch.fnmatchcase(value.lower() if fold else value, p.lower() if fold else p) for p in _listed(patterns))


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str | None]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = context.get(key)
            wanted = _listed(expected)
            if operator == "StringEquals":
                ok = actual is not None and actual in wanted
            elif operator == "StringLike":
                ok = actual is not None and any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            elif operator == "Null":  # "false": the key is present
                ok = all((actual is None) == (str(w).lower() == "true") for w in wanted)
            elif operator == "Bool":
                ok = actual is not None and actual.lower() in [str(w).lower() for w in wanted]
            else:
                raise AssertionError(f"condition operator {operator} is not evaluated by the tests")
            if not ok:
                return False
    return True


def decision(policy: list[dict[str, Any]], action: str, resource: str,
             context: Mapping[str, str | None] | None = None) -> str:
    """"allowed", "explicitDeny" or "implicitDeny" (SimulatePrincipalPolicy's words)."""
    context = context or {}
    allowed = False
    for statement in policy:
        if "NotAction" in statement or "NotResource" in statement:
            raise AssertionError("NotAction/NotResource are not evaluated by the tests")
        if not _match(statement["Action"], action, fold=True) or not _match(statement["Resource"], resource, fold=False):
            continue
        if not _condition_holds(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return "explicitDeny"
        allowed = True
    return "allowed" if allowed else "implicitDeny"


def role_policy(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """Every statement of a role's inline and attached policies, as IAM holds them."""
    found: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        found += statements(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        found += statements(document)
    return found
