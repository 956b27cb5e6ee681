"""What every AWS action handler shares: the target, clients, poller, markers and settings.

A handler implements the provider protocol for a few catalog actions; the
provider only dispatches. Adding an AWS action is one handler plus one entry
in `chaos.aws.provider.HANDLERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import JsonValue

from chaos.actions import ActionCall
from chaos.aws.clients import AwsClients
from chaos.aws.markers import DESCRIPTION as MARKER_DESCRIPTION
from chaos.aws.markers import FaultMarkers
from chaos.aws.polling import Poller
from chaos.provider import RemediationContext, Undo
from chaos.targets import AwsTarget
from common.errors import ProviderError

# One AWS call as preflight checks its generated names: ("ssm:PutParameter", {"Name": ..., ...}).
NamedCall = tuple[str, dict[str, Any]]


def marker_call(name: str) -> NamedCall:
    """The PutParameter that writes a fault marker (its value is checked when written: summaries fit)."""
    return ("ssm:PutParameter", {"Name": name, "Value": "{}", "Description": MARKER_DESCRIPTION})


# Where the FIS Lambda extension layer is published, per architecture (AWS public SSM parameters).
FIS_EXTENSION_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-{arch}/1.x.x"
FIS_EXEC_WRAPPER = "/opt/aws-fis/bootstrap"


@dataclass(frozen=True)
class AwsSettings:
    poll_interval_s: float = 5.0
    wait_timeout_s: float = 1800.0  # a PITR restore of a large table takes many minutes
    # FIS ends its faults by itself after this long: the dead man's switch if nobody reverts.
    fis_duration_s: int = 3 * 3600
    marker_prefix: str = "/hanbit-drill"
    fis_extension_parameter: str = FIS_EXTENSION_PARAMETER
    table_name_variable: str = "TABLE_NAME"
    # table.corrupt refuses below this many items of the drill's own load: a "share" of 2 items proves nothing.
    corruption_min_items: int = 10
    # UpdateContinuousBackups right after a restore is ACTIVE commonly answers ContinuousBackupsUnavailable
    # for a while: retried with doubling waits from this (5, 10, 20, ... s) for up to this many attempts.
    backups_retry_first_s: float = 5.0
    backups_retry_attempts: int = 8


@dataclass
class AwsContext:
    target: AwsTarget
    clients: AwsClients
    poll: Poller
    markers: FaultMarkers
    settings: AwsSettings
    # Every call of the scenario being preflighted: a check may depend on what else the drill does.
    scenario: list[ActionCall] = field(default_factory=list)

    def call(self, service: str, method: str, region: str | None = None, **params: Any) -> dict[str, Any]:
        result = self.clients.call(service, method, region, **params)
        assert result is not None  # only calls with `ignore` may return None
        return result


def clean_up_failed_inject(ctx: AwsContext, error: BaseException, marker: str, cleanup: Callable[[], None]) -> None:
    """Undo a half-made fault before `error` propagates. If that fails too, the marker stays for a later revert."""
    try:
        cleanup()
    except Exception as failure:  # the inject's own error is what the operator must see first
        error.add_note(
            f"undoing the half-made fault failed too ({failure}); SSM parameter {marker} keeps the "
            f"snapshot: revert again"
        )
        return
    ctx.markers.delete(marker)


def api(service: str, operation: str, **params: object) -> str:
    """One plan line: `lambda:UpdateAlias FunctionName=todo-api Name=LIVE FunctionVersion=<previous>`."""
    parts = [f"{service}:{operation}"]
    parts += [f"{key}={_fmt(value)}" for key, value in params.items()]
    return " ".join(parts)


def _fmt(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    return str(value)


class ActionHandler(ABC):
    """Base of the AWS action handlers. Faults override inject/revert, remediations override remediate."""

    actions: ClassVar[frozenset[str]]

    def __init__(self, ctx: AwsContext) -> None:
        self.ctx = ctx
        self.target = ctx.target

    def preflight(self, call: ActionCall) -> list[str]:
        return []

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        """The calls of this action whose names and values the harness makes up, filled in as they will be
        sent (runtime values that no rule governs left as placeholders): checked against AWS's rules
        (chaos.aws.limits) by preflight, before any fault. Handlers add their own to these."""
        return [
            ("lambda:GetAlias", {"FunctionName": self.target.function, "Name": self.target.alias}),
            ("dynamodb:DescribeTable", {"TableName": self.target.table}),
        ]

    @abstractmethod
    def plan(self, call: ActionCall) -> list[str]:
        """The exact AWS calls this action makes, one per line."""

    def call_for_marker(self, action: str, resource: str | None) -> ActionCall:
        """The call whose fault marker is `<prefix>/<function>/<action>[/<resource>]`, for reverting it from the
        marker alone (`cleanup --target`): the parameters its marker name and revert depend on."""
        return ActionCall(name=action)

    def inject(self, call: ActionCall) -> Undo:
        raise ProviderError(f"{call.name} is not a fault")

    def revert(self, call: ActionCall, undo: Undo) -> None:
        raise ProviderError(f"{call.name} is not a fault")

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        raise ProviderError(f"{call.name} is not a remediation")
