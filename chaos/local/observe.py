"""What an operator did to the bundled service after being paged, read from its control plane's change log.

The change log (`GET /control/log`) records every control action with its time and values, whoever made
it: an operator's `curl`, `hanbit-drill bundled ...` or the harness. After a page the harness makes no
change of its own until the operator's deadline, so what appears there is the operator's doing. Each
runbook action has a matcher that says whether the entries since the page perform the step as the
runbook has it (the right version, the named table and its repoint, the named region).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.actions import ActionCall
from chaos.provider import ObservedAction, RemediationContext


@dataclass(frozen=True)
class LogEntry:
    epoch_s: float
    action: str
    region: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> LogEntry:
        return cls(float(raw["epoch_s"]), str(raw["action"]), raw.get("region"), dict(raw.get("detail") or {}))


Matcher = Callable[[ActionCall, RemediationContext, Sequence[LogEntry]], ObservedAction | None]


def expected_version(call: ActionCall, context: RemediationContext) -> str | None:
    """The version the runbook rolls LIVE back to: the one before the drill's first bad deploy."""
    if call.params.get("to_version"):
        return str(call.params["to_version"])
    fault = context.first_fault({"lambda.deploy-bad-version"}, having="previous_version")
    return str(fault.undo["previous_version"]) if fault else None


def _rollback(call: ActionCall, context: RemediationContext, entries: Sequence[LogEntry]) -> ObservedAction | None:
    alias = str(call.params.get("alias", "LIVE"))
    want = expected_version(call, context)
    seen: ObservedAction | None = None
    for entry in entries:
        if entry.action != "function.update-alias" or str(entry.detail.get("alias", alias)) != alias:
            continue
        version = str(entry.detail.get("version"))
        if want is None or version == want:
            return ObservedAction(entry.epoch_s, True, f"{alias} moved to version {version}")
        seen = ObservedAction(entry.epoch_s, False,
                              f"{alias} moved to version {version}, but the runbook's previous good version is {want}")
    return seen


def _restore(call: ActionCall, context: RemediationContext, entries: Sequence[LogEntry]) -> ObservedAction | None:
    target = str(call.params.get("target_table", "todos-restored"))
    restored: LogEntry | None = None
    for entry in entries:
        table = str(entry.detail.get("table", ""))
        if entry.action == "table.restore" and (table == target or table.startswith(target + "-")):
            restored = entry
        elif entry.action == "function.update-configuration" and restored is not None:
            repointed = _table_name(entry.detail)
            if repointed == restored.detail.get("table"):
                return ObservedAction(entry.epoch_s, True, f"restored into {repointed} and repointed the function to it")
    if restored is None:
        other = next((e for e in entries if e.action == "table.restore"), None)
        if other is None:
            return None
        return ObservedAction(other.epoch_s, False,
                              f"restored into {other.detail.get('table')}, but the runbook names {target}")
    if not call.params.get("repoint", True):
        return ObservedAction(restored.epoch_s, True, f"restored into {restored.detail.get('table')}")
    return ObservedAction(restored.epoch_s, False,
                          f"restored into {restored.detail.get('table')}, but the function still reads the old table "
                          f"(repoint TABLE_NAME to finish the step)")


def _table_name(detail: dict[str, Any]) -> str | None:
    config = detail.get("config") or {}
    return config.get("table_name") if isinstance(config, dict) else None


def _failover(call: ActionCall, context: RemediationContext, entries: Sequence[LogEntry]) -> ObservedAction | None:
    to_region = str(call.params.get("to_region", "ap-northeast-1"))
    seen: ObservedAction | None = None
    for entry in entries:
        if entry.action != "edge.switch":
            continue
        active = entry.detail.get("active")
        if active == to_region:
            return ObservedAction(entry.epoch_s, True, f"traffic switched to {active}")
        seen = ObservedAction(entry.epoch_s, False, f"traffic switched to {active}, but the runbook names {to_region}")
    return seen


MATCHERS: dict[str, Matcher] = {
    "lambda.rollback": _rollback,
    "table.restore": _restore,
    "region.failover": _failover,
}


def observe(call: ActionCall, context: RemediationContext, log: Sequence[dict[str, Any]]) -> ObservedAction | None:
    """The operator's action for `call` in the change log entries `log` (those since the page)."""
    matcher = MATCHERS.get(call.name)
    if matcher is None:
        return None
    return matcher(call, context, [LogEntry.of(raw) for raw in log])
