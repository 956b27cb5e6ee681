"""AWS Fault Injection Service experiments: template, start, wait for running, stop, clean up.

Each fault gets its own one-action template (tagged, so a crashed drill's
leftovers can be found) and one experiment. The template's action duration is
a dead man's switch: FIS ends the fault by itself if the harness never reverts.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from functools import partial
from typing import Any

from pydantic import JsonValue

from chaos.aws.context import AwsContext, api
from common.errors import ProviderError

TAG = "hanbit-drill"


class ExperimentStatus(StrEnum):
    PENDING = "pending"
    INITIATING = "initiating"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    CANCELLED = "cancelled"


STARTING = frozenset({ExperimentStatus.PENDING, ExperimentStatus.INITIATING})
ENDED = frozenset(
    {ExperimentStatus.COMPLETED, ExperimentStatus.STOPPED, ExperimentStatus.FAILED, ExperimentStatus.CANCELLED}
)


def iso_duration(seconds: int) -> str:
    return f"PT{max(1, seconds // 60)}M"


class FisExperiment:
    """Runs one FIS action against one target for a fault."""

    def __init__(self, ctx: AwsContext, region: str | None = None) -> None:
        self.ctx = ctx
        self.region = region or ctx.target.region

    def template_params(
        self,
        *,
        action_id: str,
        description: str,
        resource_type: str,
        target_key: str,
        resource_arns: list[str],
        parameters: dict[str, str],
        fault: str,
    ) -> dict[str, Any]:
        alarms = self.ctx.target.stop_alarm_arns
        stop = [{"source": "aws:cloudwatch:alarm", "value": arn} for arn in alarms] or [{"source": "none"}]
        return {
            "clientToken": str(uuid.uuid4()),
            "description": description[:512],
            "roleArn": self.ctx.target.fis_role_arn or "<fis_role_arn>",
            "stopConditions": stop,
            "targets": {
                target_key: {"resourceType": resource_type, "resourceArns": resource_arns, "selectionMode": "ALL"}
            },
            "actions": {
                "fault": {
                    "actionId": action_id,
                    "parameters": {**parameters, "duration": iso_duration(self.ctx.settings.fis_duration_s)},
                    "targets": {target_key: target_key},
                }
            },
            "tags": {TAG: fault, "Name": f"hanbit-drill {fault}"},
        }

    def plan(self, template: dict[str, Any]) -> list[str]:
        action = template["actions"]["fault"]
        target = next(iter(template["targets"].values()))
        return [
            "inject: "
            + api(
                "fis",
                "CreateExperimentTemplate",
                actionId=action["actionId"],
                parameters=action["parameters"],
                resourceArns=target["resourceArns"],
                roleArn=template["roleArn"],
                stopConditions=[s.get("value", s["source"]) for s in template["stopConditions"]],
            ),
            "inject: " + api("fis", "StartExperiment", experimentTemplateId="<template>"),
            "inject: " + api("fis", "GetExperiment", id="<experiment>") + "  (until running)",
            "revert: " + api("fis", "StopExperiment", id="<experiment>") + "  (if still running)",
            "revert: " + api("fis", "GetExperiment", id="<experiment>") + "  (until stopped)",
            "revert: " + api("fis", "DeleteExperimentTemplate", id="<template>"),
        ]

    def start(self, template: dict[str, Any], undo: dict[str, JsonValue], marker: str) -> dict[str, JsonValue]:
        """Create the template and start the experiment; return `undo` completed with their ids.

        The marker is rewritten after each step so a crash leaves enough to stop what was started."""
        created = self.ctx.call("fis", "create_experiment_template", self.region, **template)
        undo["template_id"] = created["experimentTemplate"]["id"]
        self.ctx.markers.put(marker, undo)
        started = self.ctx.call(
            "fis",
            "start_experiment",
            self.region,
            clientToken=str(uuid.uuid4()),
            experimentTemplateId=undo["template_id"],
            tags=template["tags"],
        )
        undo["experiment_id"] = started["experiment"]["id"]
        self.ctx.markers.put(marker, undo)
        self.wait_running(str(undo["experiment_id"]))
        return undo

    def state(self, experiment_id: str) -> tuple[ExperimentStatus | None, str]:
        found = self.ctx.clients.call(
            "fis", "get_experiment", self.region, id=experiment_id, ignore=("ResourceNotFoundException",)
        )
        if found is None:
            return None, "not found"
        state = found["experiment"].get("state", {})
        reason = state.get("reason", "")
        if state.get("error", {}).get("code"):
            reason = f"{reason} ({state['error']['code']})".strip()
        return ExperimentStatus(state["status"]), reason

    def wait_running(self, experiment_id: str) -> None:
        def probe() -> bool | None:
            status, reason = self.state(experiment_id)
            if status == ExperimentStatus.RUNNING:
                return True
            if status is None or status in ENDED or status == ExperimentStatus.STOPPING:
                raise ProviderError(f"FIS experiment {experiment_id} did not start: {status or 'gone'}: {reason}")
            return None

        self.ctx.poll.until(probe, f"FIS experiment {experiment_id} to run")

    def stop(self, undo: dict[str, JsonValue]) -> None:
        """Stop the experiment (if still active) and delete its template. Safe to repeat."""
        template_id = undo.get("template_id")
        experiments = [str(undo["experiment_id"])] if undo.get("experiment_id") else []
        if template_id and not experiments:
            experiments = self._experiments_of(str(template_id))  # crashed between start and the marker write
        for experiment_id in experiments:
            status, _ = self.state(experiment_id)
            if status is None or status in ENDED:
                continue
            if status != ExperimentStatus.STOPPING:
                self.ctx.clients.call(
                    "fis", "stop_experiment", self.region, id=experiment_id, ignore=("ResourceNotFoundException",)
                )
            self.ctx.poll.until(partial(self._ended, experiment_id), f"FIS experiment {experiment_id} to stop")
        if template_id:
            self.ctx.clients.call(
                "fis",
                "delete_experiment_template",
                self.region,
                id=str(template_id),
                ignore=("ResourceNotFoundException",),
            )

    def _ended(self, experiment_id: str) -> bool | None:
        status, _ = self.state(experiment_id)
        return True if status is None or status in ENDED else None  # gone counts as ended

    def _experiments_of(self, template_id: str) -> list[str]:
        found = self.ctx.call("fis", "list_experiments", self.region, experimentTemplateId=template_id)
        return [e["id"] for e in found.get("experiments", [])]

    def leftovers(self, undo: dict[str, JsonValue]) -> list[str]:
        """What is still in effect after `stop`: an experiment not ended."""
        left = []
        if undo.get("experiment_id"):
            status, _ = self.state(str(undo["experiment_id"]))
            if status is not None and status not in ENDED:
                left.append(f"FIS experiment {undo['experiment_id']} is still {status}")
        return left
