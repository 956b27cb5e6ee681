"""What an operator did on AWS after being paged (game day), for the steps AWS lets us observe.

`lambda.rollback`: the alias's state (GetAlias) says whether LIVE is back on the version before the
drill's first bad deploy, on another version, or still on a bad one. CloudTrail's LookupEvents adds who
made the UpdateAlias call and when, once CloudTrail has the event (AWS documents up to about 15
minutes of delay; until then the time is when the harness saw the new state, which is later than the
call by at most one observation interval).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from chaos.actions import ActionCall
from chaos.aws.context import AwsContext
from chaos.aws.function import LambdaFunction
from chaos.provider import ObservedAction, RemediationContext

OBSERVABLE_ACTIONS = frozenset({"lambda.rollback"})
_ALIAS_FAULTS = ("lambda.deploy-bad-version", "lambda.invocation-error")


def observe(ctx: AwsContext, call: ActionCall, since: float, context: RemediationContext) -> ObservedAction | None:
    if call.name != "lambda.rollback":
        return None
    alias = str(call.params.get("alias") or ctx.target.alias)
    fault = context.first_fault(_ALIAS_FAULTS, having="alias_version")
    expected = str(call.params.get("to_version") or (fault.undo["alias_version"] if fault else "")) or None
    bad = {str(f.undo["bad_version"]) for f in context.faults if f.undo.get("bad_version")}
    state = LambdaFunction(ctx).get_alias(alias)
    if state.version in bad or bad & set(state.weights):
        return None  # still on the bad version: nothing done yet
    when, who = _update_alias_event(ctx, alias, since)
    at = when or time.time()
    if expected is None or (state.version == expected and not state.weights):
        return ObservedAction(at, True, f"{alias} at version {state.version}", who)
    weights = f" (weights {state.weights})" if state.weights else ""
    return ObservedAction(at, False, f"{alias} at version {state.version}{weights}, but the runbook's previous good "
                                     f"version is {expected}", who)


def _function_name(name_or_arn: str) -> str:
    """`todo-api` from `todo-api`, `...:function:todo-api` or `...:function:todo-api:LIVE` (UpdateAlias takes any)."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _update_alias_event(ctx: AwsContext, alias: str, since: float) -> tuple[float | None, str | None]:
    """The time and user of the latest UpdateAlias on the function since `since`, if CloudTrail has it."""
    try:
        events = ctx.clients.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateAlias20150331"}],
            StartTime=datetime.fromtimestamp(since, tz=UTC), MaxResults=50,
        ).get("Events", [])
    except (ClientError, BotoCoreError):
        return None, None  # no permission, or CloudTrail not there: the alias state is enough
    for event in events:
        try:
            request = json.loads(event.get("CloudTrailEvent", "{}")).get("requestParameters") or {}
        except ValueError:
            continue
        if request.get("name") == alias and _function_name(str(request.get("functionName", ""))) == ctx.target.function:
            return event["EventTime"].timestamp(), event.get("Username")
    return None, None
