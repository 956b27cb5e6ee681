"""`AwsProvider`: the fault provider for a real stack (staging), over boto3 and AWS FIS.

It only dispatches: each catalog action is implemented by one handler class
(see HANDLERS). Construction does no I/O; clients are created on first use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

import boto3
from pydantic import JsonValue

from chaos.actions import CATALOG, ActionCall, ActionKind
from chaos.aws.alarm_history import AlarmHistory
from chaos.aws.checks import guarded
from chaos.aws.clients import AwsClients
from chaos.aws.context import ActionHandler, AwsContext, AwsSettings, NamedCall
from chaos.aws.endpoints import EndpointProbe
from chaos.aws.lambda_faults import BadVersionFault, ConcurrencyFault
from chaos.aws.lambda_fis import FisLambdaFault
from chaos.aws.lambda_remediations import DeleteConcurrencyRemediation, RollbackRemediation, UpdateConfigRemediation
from chaos.aws.lease_store import lease_plan
from chaos.aws.leftovers import AccountLeftovers
from chaos.aws.limits import AwsLimitError, call_problems
from chaos.aws.markers import FaultMarkers
from chaos.aws.operator_observe import OBSERVABLE_ACTIONS
from chaos.aws.operator_observe import observe as observe_operator
from chaos.aws.permissions import PermissionCheck
from chaos.aws.polling import Poller
from chaos.aws.region_faults import PauseReplicationFault, RegionOutageFault
from chaos.aws.region_routing import RegionRouting
from chaos.aws.table_backup import BackupRemediation
from chaos.aws.table_corruption import TableCorruption
from chaos.aws.table_restore import RestoreRemediation
from chaos.aws.table_throttle import TableThrottle
from chaos.provider import Leftover, ObservedAction, RemediationContext, Undo
from chaos.targets import REGION_ACTIONS, AwsTarget
from common.errors import InvalidInputError

HANDLERS: tuple[type[ActionHandler], ...] = (
    ConcurrencyFault,
    BadVersionFault,
    FisLambdaFault,
    TableCorruption,
    TableThrottle,
    RegionOutageFault,
    PauseReplicationFault,
    RollbackRemediation,
    DeleteConcurrencyRemediation,
    UpdateConfigRemediation,
    BackupRemediation,
    RestoreRemediation,
    RegionRouting,
)


class AwsProvider:
    name: ClassVar[str] = "aws"
    # auth.expire-tokens is left out: Cognito has no "reject every token issued so far" switch.
    supported_actions: ClassVar[frozenset[str]] = frozenset().union(*(h.actions for h in HANDLERS))
    observable_actions: ClassVar[frozenset[str]] = OBSERVABLE_ACTIONS  # game-day steps an operator may take

    def __init__(
        self,
        target: AwsTarget,
        session: boto3.Session | None = None,
        *,
        settings: AwsSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        probe: EndpointProbe | None = None,
    ) -> None:
        self.target = target
        self.probe = probe or EndpointProbe()
        self.settings = settings or AwsSettings()
        self.clients = AwsClients(session, target.region)
        poll = Poller(self.settings.poll_interval_s, self.settings.wait_timeout_s, sleep, clock)
        markers = FaultMarkers(self.clients, self.settings.marker_prefix, target.region)
        self.ctx = AwsContext(target, self.clients, poll, markers, self.settings)
        self._handlers: dict[str, ActionHandler] = {}

    def handler(self, call: ActionCall) -> ActionHandler:
        if call.name not in self.supported_actions:
            known = "" if call.name in CATALOG else " (not in the action catalog)"
            raise InvalidInputError(f"the aws provider cannot perform {call.name}{known}")
        if call.name not in self._handlers:
            cls = next(h for h in HANDLERS if call.name in h.actions)
            self._handlers[call.name] = cls(self.ctx)
        return self._handlers[call.name]

    # ---- the Provider protocol ---------------------------------------------------------------

    def preflight(self, calls: list[ActionCall]) -> list[str]:
        """Everything the drill needs, checked before the first fault: names AWS accepts, credentials, each
        action's resources, the clients' path of a region drill, and the permission for every call."""
        supported = [c for c in calls if c.name in self.supported_actions]
        problems = [f"the aws provider cannot perform {c.name}" for c in calls if c.name not in self.supported_actions]
        problems += self.name_problems(supported)
        caller: list[str] = []
        identity = guarded(lambda: self._identity(caller), "checking AWS credentials")
        if identity:
            return problems + identity  # every other check would fail the same way
        self.ctx.scenario = list(calls)
        problems += self._leftover_markers()
        for call in supported:
            problems += self.handler(call).preflight(call)
        if REGION_ACTIONS & {c.name for c in supported}:
            problems += self.probe.problems(self.target)
        lines = [line for call in supported for line in self.plan(call)] + self.target_plan()
        problems += guarded(
            lambda: PermissionCheck(self.ctx).problems(lines, caller[0]),
            "checking permissions (iam:SimulatePrincipalPolicy)",
        )
        return list(dict.fromkeys(problems))  # the same function/table problem is reported once

    def target_plan(self) -> list[str]:
        """The calls a drill makes on this target besides its actions' (the lease; the load's accounts in the
        target's Cognito pool), as plan lines: the permission preflight asks IAM about them too."""
        lines = lease_plan(self.settings.marker_prefix, self.target.function)
        pool = self.target.cognito
        if pool is not None:
            where = f"UserPoolId={pool.user_pool_id}"
            lines += [
                f"load: cognito-idp:DescribeUserPoolClient {where} ClientId={pool.client_id}  (the load's sign-in)",
                f"load: cognito-idp:AdminCreateUser {where} Username=<account> MessageAction=SUPPRESS  (or reused)",
                f"load: cognito-idp:AdminSetUserPassword {where} Username=<account> Permanent=true  (new every run)",
            ]
        return lines

    def cleanup_plan(self) -> list[str]:
        """What `hanbit-drill cleanup --target` calls besides each marker's revert (its action's plan lines)."""
        lines = AccountLeftovers(self.ctx, self.handler).plan() + lease_plan(self.settings.marker_prefix,
                                                                             self.target.function)
        pool = self.target.cognito
        if pool is not None:
            lines += [
                f"cleanup: cognito-idp:ListUsers UserPoolId={pool.user_pool_id} Filter='username ^= <prefix>'",
                f"cleanup: cognito-idp:AdminDeleteUser UserPoolId={pool.user_pool_id} Username=<account>",
            ]
        return lines

    def named_calls(self, calls: list[ActionCall]) -> list[NamedCall]:
        """Every call whose names and values the harness generates for these actions (see chaos.aws.limits)."""
        out: list[NamedCall] = []
        for call in calls:
            out += self.handler(call).named_calls(call)
        alarms = [arn.split(":alarm:", 1)[-1] for arn in self.target.stop_alarm_arns]
        out.append(("cloudwatch:DescribeAlarms", {"AlarmNames": [*alarms, *self.target.alarm_names]}))
        return out

    def name_problems(self, calls: list[ActionCall]) -> list[str]:
        """Names and values AWS would refuse (ValidationException), found without a single call."""
        try:
            named = self.named_calls(calls)
        except AwsLimitError as exc:
            return [str(exc)]
        return list(dict.fromkeys(p for api, params in named for p in call_problems(api, params)))

    def plan(self, call: ActionCall) -> list[str]:
        return self.handler(call).plan(call)

    def inject(self, call: ActionCall) -> Undo:
        self._expect(call, ActionKind.FAULT)
        return self.handler(call).inject(call)

    def revert(self, call: ActionCall, undo: Undo) -> None:
        self._expect(call, ActionKind.FAULT)
        self.handler(call).revert(call, undo)

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        self._expect(call, ActionKind.REMEDIATION)
        return self.handler(call).remediate(call, context)

    def alarm_times(self, since: float) -> dict[str, float | None]:
        if not self.target.alarm_names:
            return {}  # no alarms named: the drill's alarm model judges detection
        return AlarmHistory(self.clients, self.target.region).alarm_times(self.target.alarm_names, since)

    def observe(self, call: ActionCall, since: float, context: RemediationContext) -> ObservedAction | None:
        return observe_operator(self.ctx, call, since, context)

    def leftovers(self) -> list[Leftover]:
        return AccountLeftovers(self.ctx, self.handler).find()

    def clear(self, leftover: Leftover) -> str:
        return AccountLeftovers(self.ctx, self.handler).clear(leftover)

    def close(self) -> None:
        self.clients.close()

    # ---- helpers -----------------------------------------------------------------------------

    def _expect(self, call: ActionCall, kind: ActionKind) -> None:
        if call.name in CATALOG and call.spec.kind != kind:
            raise InvalidInputError(f"{call.name} is a {call.spec.kind.value}, not a {kind.value}")

    def _identity(self, caller: list[str]) -> list[str]:
        caller.append(str(self.clients.call("sts", "get_caller_identity")["Arn"]))  # type: ignore[index]
        return []

    def _leftover_markers(self) -> list[str]:
        def check() -> list[str]:
            problems = []
            for marker in self.ctx.markers.list(self.target.function):
                if marker.name == RegionRouting(self.ctx).marker():
                    problems.append(
                        f"traffic is still failed over to {marker.data.get('to_region')} by an earlier "
                        f"drill (SSM parameter {marker.name}); run region.failback first"
                    )
                else:
                    problems.append(
                        f"an earlier drill left a fault in place (SSM parameter {marker.name}); run "
                        f"`hanbit-drill cleanup` on its journal, or `hanbit-drill cleanup --target` on this "
                        f"target without it"
                    )
            return problems

        return guarded(check, "checking for faults left by earlier drills")
