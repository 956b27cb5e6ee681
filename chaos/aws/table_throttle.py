"""`table.throttle`: cap the table's throughput so excess requests are throttled.

On-demand tables get a maximum on-demand throughput (requests above it fail
with a throttling error); provisioned tables get lower provisioned capacity.
The billing mode is never switched (AWS limits how often that may happen).
Revert puts back the snapshot; an update that would change nothing is skipped
because DynamoDB rejects it.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, ThrottleTable
from chaos.aws.checks import guarded
from chaos.aws.context import ActionHandler, NamedCall, api, clean_up_failed_inject, marker_call
from chaos.aws.table_backup import table_problems
from chaos.provider import Undo
from common.errors import ProviderError

ON_DEMAND = "PAY_PER_REQUEST"
NO_LIMIT = -1  # what DynamoDB takes to remove a maximum on-demand throughput


def billing_mode(table: dict[str, Any]) -> str:
    # Tables created before billing modes existed report no summary: they are provisioned.
    return str((table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"))


def capacity(table: dict[str, Any]) -> dict[str, int]:
    if billing_mode(table) == ON_DEMAND:
        found = table.get("OnDemandThroughput") or {}
        return {
            "read": int(found.get("MaxReadRequestUnits", NO_LIMIT)),
            "write": int(found.get("MaxWriteRequestUnits", NO_LIMIT)),
        }
    found = table.get("ProvisionedThroughput") or {}
    return {"read": int(found.get("ReadCapacityUnits", 0)), "write": int(found.get("WriteCapacityUnits", 0))}


class TableThrottle(ActionHandler):
    actions = frozenset({"table.throttle"})

    def _params(self, call: ActionCall) -> ThrottleTable:
        params = call.typed_params()
        assert isinstance(params, ThrottleTable)
        return params

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name, self.target.table)

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        return [*super().named_calls(call), marker_call(self.marker(call))]

    def preflight(self, call: ActionCall) -> list[str]:
        params, problems = self._params(call), []
        if params.read_capacity is None and params.write_capacity is None:
            problems.append("table.throttle: give read_capacity and/or write_capacity")
        for name in ("read_capacity", "write_capacity"):
            if getattr(params, name) == 0:
                problems.append(f"table.throttle: {name} 0 is not possible on AWS (the minimum is 1 unit per second)")
        found = table_problems(self, self.target.table)
        return problems + (found or guarded(self._autoscaling_problems, "checking auto scaling"))

    def _autoscaling_problems(self) -> list[str]:
        table = self.ctx.call("dynamodb", "describe_table", TableName=self.target.table)["Table"]
        if billing_mode(table) == ON_DEMAND:
            return []
        found = self.ctx.call(
            "application-autoscaling",
            "describe_scalable_targets",
            ServiceNamespace="dynamodb",
            ResourceIds=[f"table/{self.target.table}"],
        )
        if found.get("ScalableTargets"):
            return [
                f"table {self.target.table} has auto scaling, which would lift the throttle within minutes; "
                f"suspend its scaling policies for the drill"
            ]
        return []

    def plan(self, call: ActionCall) -> list[str]:
        params, table = self._params(call), self.target.table
        on_demand = {
            k: v
            for k, v in (("MaxReadRequestUnits", params.read_capacity), ("MaxWriteRequestUnits", params.write_capacity))
            if v is not None
        }
        provisioned = {
            "ReadCapacityUnits": params.read_capacity or "<current>",
            "WriteCapacityUnits": params.write_capacity or "<current>",
        }
        return [
            "inject: " + api("dynamodb", "DescribeTable", TableName=table) + "  (billing mode and capacity)",
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot>"),
            "inject: "
            + api("dynamodb", "UpdateTable", TableName=table, OnDemandThroughput=on_demand)
            + "  (on-demand table)",
            "inject: "
            + api("dynamodb", "UpdateTable", TableName=table, ProvisionedThroughput=provisioned)
            + "  (provisioned table)",
            "inject: " + api("dynamodb", "DescribeTable", TableName=table) + "  (until ACTIVE)",
            "revert: "
            + api("dynamodb", "UpdateTable", TableName=table, OnDemandThroughput="<before, -1 = no limit>")
            + "  (or ProvisionedThroughput=<before>)",
            "revert: " + api("dynamodb", "DescribeTable", TableName=table) + "  (until ACTIVE; leftover check)",
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    def inject(self, call: ActionCall) -> Undo:
        params, name = self._params(call), self.target.table
        table = self.ctx.call("dynamodb", "describe_table", TableName=name)["Table"]
        before = capacity(table)
        wanted = {
            "read": params.read_capacity if params.read_capacity is not None else before["read"],
            "write": params.write_capacity if params.write_capacity is not None else before["write"],
        }
        undo: dict[str, JsonValue] = {
            "table": name,
            "mode": billing_mode(table),
            "before": dict(before),
            "applied": dict(wanted),
        }
        self.ctx.markers.put(self.marker(call), undo)
        try:
            self._set(name, str(undo["mode"]), before, wanted)
        except ProviderError as exc:
            clean_up_failed_inject(self.ctx, exc, self.marker(call), lambda: self.revert(call, undo))
            raise
        return undo

    def revert(self, call: ActionCall, undo: Undo) -> None:
        marker = self.marker(call)
        undo = undo or self.ctx.markers.get(marker) or {}
        if not undo:
            return
        name, mode = str(undo["table"]), str(undo["mode"])
        before = {k: int(str(v)) for k, v in dict(undo["before"]).items()}  # type: ignore[arg-type]
        table = self.ctx.call("dynamodb", "describe_table", TableName=name)["Table"]
        self._set(name, mode, capacity(table), before)
        now = capacity(self.ctx.call("dynamodb", "describe_table", TableName=name)["Table"])
        if now != before:
            raise ProviderError(f"throughput of table {name} is {now} after revert, expected {before}")
        self.ctx.markers.delete(marker)

    def _set(self, name: str, mode: str, now: dict[str, int], wanted: dict[str, int]) -> None:
        if now == wanted:
            return  # DynamoDB rejects an update that changes nothing
        if mode == ON_DEMAND:
            update = {
                "OnDemandThroughput": {"MaxReadRequestUnits": wanted["read"], "MaxWriteRequestUnits": wanted["write"]}
            }
        else:
            update = {
                "ProvisionedThroughput": {"ReadCapacityUnits": wanted["read"], "WriteCapacityUnits": wanted["write"]}
            }
        self.ctx.call("dynamodb", "update_table", TableName=name, **update)

        def active() -> bool | None:
            status = self.ctx.call("dynamodb", "describe_table", TableName=name)["Table"]["TableStatus"]
            return True if status == "ACTIVE" else None

        self.ctx.poll.until(active, f"table {name} to become ACTIVE")
