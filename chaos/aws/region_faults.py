"""Scenario 3 faults: a region stops serving, and global-table replication pauses.

The outage takes the region's function to reserved concurrency 0: every
request through API Gateway is throttled, which is what the region's health
check and the failover records see. Replication is paused with FIS
`aws:dynamodb:global-table-pause-replication` on the table's replica in the
primary region.
"""

from __future__ import annotations

from chaos.actions import ActionCall, RegionOutage
from chaos.aws.checks import fis_problems, guarded
from chaos.aws.context import ActionHandler, NamedCall, api, marker_call
from chaos.aws.fis import FisExperiment
from chaos.aws.lambda_faults import ConcurrencyFault
from chaos.aws.lambda_fis import start_fis_fault, stop_fis_fault
from chaos.aws.table_backup import table_problems
from chaos.provider import Undo


class RegionOutageFault(ConcurrencyFault):
    actions = frozenset({"region.outage"})

    def region_of(self, call: ActionCall) -> str:
        params = call.typed_params()
        assert isinstance(params, RegionOutage)
        return params.region

    def limit_of(self, call: ActionCall) -> int:
        return 0

    def call_for_marker(self, action: str, resource: str | None) -> ActionCall:
        return ActionCall(name=action, params={"region": resource or self.target.region})  # the marker names it

    def preflight(self, call: ActionCall) -> list[str]:
        params = call.typed_params()
        assert isinstance(params, RegionOutage)
        problems = []
        regions = [self.target.region, self.target.secondary_region]
        if params.region not in regions:
            problems.append(
                f"region.outage: region {params.region} is neither the target's region "
                f"{self.target.region} nor its secondary_region {self.target.secondary_region}"
            )
            return problems
        if params.mode != "refuse":
            problems.append(
                "region.outage: mode 'blackhole' cannot be made real on AWS (the outage is the region's "
                "function throttled to 0, which answers at once); use mode 'refuse'"
            )
        return problems + super().preflight(call)


class PauseReplicationFault(ActionHandler):
    actions = frozenset({"region.pause-replication"})

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name, self.target.table)

    def template(self, call: ActionCall, table_arn: str) -> dict:
        return FisExperiment(self.ctx).template_params(
            action_id="aws:dynamodb:global-table-pause-replication",
            description=f"hanbit-drill {call.name} on {self.target.table} in {self.target.region}",
            resource_type="aws:dynamodb:global-table",
            target_key="Tables",
            resource_arns=[table_arn],
            parameters={},
            fault=call.name,
        )

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        template = self.template(call, f"arn:aws:dynamodb:{self.target.region}:123456789012:table/{self.target.table}")
        return [
            *super().named_calls(call),
            marker_call(self.marker(call)),
            ("fis:CreateExperimentTemplate", template),
            ("fis:StartExperiment", {"tags": template["tags"]}),
        ]

    def preflight(self, call: ActionCall) -> list[str]:
        problems = table_problems(self, self.target.table)
        if problems:
            return problems

        def replicas() -> list[str]:
            table = self.ctx.call("dynamodb", "describe_table", TableName=self.target.table)["Table"]
            if not table.get("Replicas"):
                return [f"table {self.target.table} is not a global table (no replicas): nothing to pause"]
            return []

        return guarded(replicas, "checking replicas") + fis_problems(self.ctx, lambda_target=False)

    def plan(self, call: ActionCall) -> list[str]:
        table = self.target.table
        return [
            "inject: " + api("dynamodb", "DescribeTable", TableName=table) + "  (table ARN)",
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot>"),
            *FisExperiment(self.ctx).plan(
                self.template(call, f"arn:aws:dynamodb:{self.target.region}:<account>:table/{table}")
            ),
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    def inject(self, call: ActionCall) -> Undo:
        arn = self.ctx.call("dynamodb", "describe_table", TableName=self.target.table)["Table"]["TableArn"]
        return start_fis_fault(self, self.template(call, arn), self.marker(call), {"table_arn": arn})

    def revert(self, call: ActionCall, undo: Undo) -> None:
        stop_fis_fault(self, self.marker(call), undo)
