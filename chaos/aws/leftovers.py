"""What drills left in the AWS account, found without any journal: `hanbit-drill cleanup --target staging`.

A run killed on a laptop, or a CI job cancelled mid-drill, leaves its journal out of reach; the account
itself still says what is in effect:

- **fault markers** under `/hanbit-drill/<function>/` (written before each fault, deleted by its revert):
  each is reverted through the handler of its action, from the snapshot it holds, exactly as `revert`
  with an empty undo does; the marker is gone only when nothing of the fault is left;
- **FIS experiment templates** tagged `hanbit-drill` whose targets are this target's function or table
  (another target's drill in the same account is not ours to end) and that no marker accounts for:
  their experiments are stopped and the template deleted.

A failover's marker is a runbook step's lasting state, not a fault: it is listed, never undone (cleanup
does not move traffic; `region.failback` does, once the primary is healthy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.actions import CATALOG, ActionCall, ActionKind
from chaos.aws.context import ActionHandler, AwsContext
from chaos.aws.fis import ENDED, TAG, ExperimentStatus, FisExperiment
from chaos.aws.markers import Marker
from chaos.aws.region_routing import FAILOVER_MARKER
from chaos.provider import Leftover
from common.errors import HarnessError, ProviderError

MARKER = "fault marker"
TEMPLATE = "FIS experiment template"
FAILOVER = "failover"


class AccountLeftovers:
    def __init__(self, ctx: AwsContext, handler_for: Callable[[ActionCall], ActionHandler]) -> None:
        self.ctx = ctx
        self.target = ctx.target
        self.handler_for = handler_for  # the provider's dispatch: the handler that reverts an action

    def plan(self) -> list[str]:
        """The calls of a sweep besides each marker's revert (which its action's plan lines list)."""
        scope = f"{self.ctx.markers.prefix}/{self.target.function}"
        return [
            f"cleanup: ssm:GetParametersByPath Path={scope} Recursive=true  (fault markers)",
            "cleanup: fis:ListExperimentTemplates  (tagged hanbit-drill)",
            "cleanup: fis:GetExperimentTemplate id=<template>  (does it act on this target?)",
            "cleanup: fis:ListExperiments experimentTemplateId=<template>",
            "cleanup: fis:StopExperiment id=<experiment>  (if still active)",
            "cleanup: fis:GetExperiment id=<experiment>  (until stopped)",
            "cleanup: fis:DeleteExperimentTemplate id=<template>",
        ]

    # ---- finding ---------------------------------------------------------------------------------

    def find(self) -> list[Leftover]:
        markers = sorted(self.ctx.markers.list(self.target.function), key=lambda m: m.name)  # SSM's order is none
        found = [self._of_marker(m) for m in markers]
        accounted = {str(m.data.get("template_id")) for m in markers if m.data.get("template_id")}
        for template in self._templates():
            if template["id"] not in accounted:
                found.append(self._of_template(template))
        return found

    def _of_marker(self, marker: Marker) -> Leftover:
        action, _ = self._parts(marker.name)
        if action == FAILOVER_MARKER:
            return Leftover(FAILOVER, marker.name, f"traffic is still failed over to {marker.data.get('to_region')} "
                            f"by an earlier drill's runbook step: run region.failback once the primary is healthy "
                            f"(cleanup does not move traffic)", clearable=False)
        if not self._revertible(action):
            return Leftover(MARKER, marker.name, f"not a marker of a fault this harness knows ({action}): delete "
                            f"the parameter once you have undone what it records", clearable=False)
        what = ", ".join(f"{k}={v}" for k, v in sorted(marker.data.items()) if k != "items" and v is not None)
        return Leftover(MARKER, marker.name, f"{action} still in effect ({what})"[:300])

    def _revertible(self, action: str) -> bool:
        if action not in CATALOG or CATALOG[action].kind != ActionKind.FAULT:
            return False
        try:
            self.handler_for(ActionCall(name=action))
        except HarnessError:  # a fault another provider makes (auth.expire-tokens): not ours to undo here
            return False
        return True

    def _templates(self) -> list[dict[str, Any]]:
        """The drill's FIS templates (tagged) that act on this target's function or table."""
        ours = []
        token: str | None = None
        while True:
            page = self.ctx.call("fis", "list_experiment_templates", **({"nextToken": token} if token else {}))
            for summary in page.get("experimentTemplates", []):
                if TAG not in (summary.get("tags") or {}):
                    continue
                template = self.ctx.clients.call("fis", "get_experiment_template", id=summary["id"],
                                                 ignore=("ResourceNotFoundException",))
                if template is not None and self._acts_on_target(template["experimentTemplate"]):
                    ours.append(template["experimentTemplate"])
            token = page.get("nextToken")
            if not token:
                return ours

    def _acts_on_target(self, template: dict[str, Any]) -> bool:
        arns = [arn for t in (template.get("targets") or {}).values() for arn in t.get("resourceArns", [])]
        own = (f":function:{self.target.function}", f":table/{self.target.table}")
        return any(arn.endswith(suffix) or f"{suffix}:" in arn for arn in arns for suffix in own)

    def _of_template(self, template: dict[str, Any]) -> Leftover:
        fault = (template.get("tags") or {}).get(TAG, "?")
        running = [e for e in self._experiments(template["id"]) if e[1] not in ENDED]
        state = "; experiments " + ", ".join(f"{i} {s.value}" for i, s in running) if running else "; no experiment running"
        return Leftover(TEMPLATE, template["id"], f"{fault}: {template.get('description', '')}{state}"[:300])

    def _experiments(self, template_id: str) -> list[tuple[str, ExperimentStatus]]:
        found = self.ctx.call("fis", "list_experiments", experimentTemplateId=template_id)
        return [(e["id"], ExperimentStatus(e["state"]["status"])) for e in found.get("experiments", [])]

    # ---- clearing --------------------------------------------------------------------------------

    def clear(self, leftover: Leftover) -> str:
        if not leftover.clearable:
            raise ProviderError(f"{leftover.name}: {leftover.detail}")
        if leftover.kind == TEMPLATE:
            return self._clear_template(leftover.name)
        return self._clear_marker(leftover.name)

    def _clear_marker(self, name: str) -> str:
        action, resource = self._parts(name)
        call = self.handler_for(ActionCall(name=action)).call_for_marker(action, resource)
        # An empty undo: the handler reads the marker (its snapshot), as after a run killed mid-inject.
        self.handler_for(call).revert(call, {})
        if self.ctx.markers.get(name) is not None:
            raise ProviderError(f"{action}: reverted, but its marker {name} is still there: it does not match "
                                f"this target's {self.target.function}/{self.target.table} (revert it from the "
                                f"journal of the run that made it, or by hand)")
        return f"reverted {action} and deleted its marker {name}"

    def _clear_template(self, template_id: str) -> str:
        fis = FisExperiment(self.ctx)
        fis.stop({"template_id": template_id})  # stops each experiment still active, then deletes the template
        left = [f"{i} {s.value}" for i, s in self._experiments(template_id) if s not in ENDED]
        if left:
            raise ProviderError(f"FIS template {template_id}: experiments still active: {', '.join(left)}")
        return f"stopped the experiments of FIS template {template_id} and deleted it"

    def _parts(self, name: str) -> tuple[str, str | None]:
        """`/hanbit-drill/<function>/<action>[/<resource>]` -> (action, resource)."""
        scope = f"{self.ctx.markers.prefix}/{self.target.function}/"
        action, _, resource = name.removeprefix(scope).partition("/")
        return action, resource or None
