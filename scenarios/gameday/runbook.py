"""A runbook step as the on-call reads it: the manual's command with this target's real values.

A step's `runbook:` is a template (`aws lambda update-alias --function-name {function} ...`), or one
template per target kind. Placeholders are names of the target (`function`, `alias`, `table`,
`region`, `data_dir`...), of the step (`target_table`, `to_region`...) and of the drill so far
(`previous_version`: the version before the first bad deploy; `restore_time`: the point a restore
goes back to).
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from chaos.actions import ActionCall
from chaos.provider import RemediationContext

# Names a template may use; the loader refuses others (a typo would page the on-call with "{functon}").
PLACEHOLDERS = frozenset({
    "function", "alias", "table", "region", "secondary_region", "api_url", "url", "data_dir",
    "health_check_id", "routing_control_arn", "target_table", "to_region", "previous_version", "restore_time",
})
Runbook = str | dict[str, str]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def unknown_placeholders(runbook: Runbook) -> set[str]:
    templates = runbook.values() if isinstance(runbook, dict) else [runbook]
    return {name for t in templates for name in placeholders(t)} - PLACEHOLDERS


def template_for(runbook: Runbook | None, kind: str) -> str | None:
    if isinstance(runbook, dict):
        return runbook.get(kind)
    return runbook


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def values(target: Any, call: ActionCall, context: RemediationContext, runtime: dict[str, Any]) -> dict[str, str]:
    """Every placeholder this target, step and drill can fill."""
    found: dict[str, Any] = {k: v for k, v in target.model_dump().items() if v is not None}
    found.update({k: v for k, v in runtime.items() if v is not None})
    found.setdefault("api_url", getattr(target, "endpoint", None))
    # The manual's names, for a target whose model has none (the bundled service plays `todo-api:LIVE`).
    found.setdefault("function", "todo-api")
    found.setdefault("alias", "LIVE")
    found.setdefault("table", "todos")
    found.setdefault("target_table", "todos-restored")
    found.setdefault("to_region", target.model_dump().get("secondary_region") or "ap-northeast-1")
    found.update({k: v for k, v in call.params.items() if v is not None})
    # The version before the drill's first alias-moving fault (the bundled and AWS providers name it
    # `previous_version` and `alias_version` in their undo data).
    for key in ("previous_version", "alias_version"):
        fault = context.first_fault({"lambda.deploy-bad-version", "lambda.invocation-error"}, having=key)
        if fault is not None:
            found["previous_version"] = fault.undo[key]
            break
    if context.fault_at is not None:
        found["restore_time"] = _iso(context.fault_at - float(call.params.get("before_fault_s", 1.0)))
    return {k: str(v) for k, v in found.items() if k in PLACEHOLDERS and v is not None}


def render(template: str, filled: dict[str, str]) -> str:
    """The template with what is known filled in; an unknown value stays visible as `<name?>`."""
    return string.Formatter().vformat(template, (), _Visible(filled))


class _Visible(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}?>"
