"""What a restored DynamoDB table lacks compared with its source, found by describing the source first.

RestoreTableToPointInTime and RestoreTableFromBackup bring back the data, keys, indexes, billing mode and
encryption. They do not bring back what lives outside the table's description: its auto scaling, the
CloudWatch alarms watching it, its resource-based policy, the replicas of a global table, and whatever
reads its stream (Lambda event source mappings, Kinesis streaming destinations). The restore does not
copy these (each needs its own decision: a second set of alarms, a policy naming new principals, a
replica in another region); it says, in the journal and the report, exactly which ones the source has
and the restored table therefore lacks, so staging is never left half-configured without anyone knowing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.aws.context import AwsContext, api
from chaos.aws.errors import AwsApiError


@dataclass
class SourceExtras:
    """The source table's configuration that a restore leaves behind, one line each."""

    gaps: list[str] = field(default_factory=list)

    def lacking(self, restored: str) -> list[str]:
        return [f"{restored} lacks {gap}" for gap in self.gaps]


class RestoreGaps:
    """Describes the source table's surroundings (before the restore, while the source is what it was)."""

    def __init__(self, ctx: AwsContext) -> None:
        self.ctx = ctx

    @staticmethod
    def plan(table: str) -> list[str]:
        return [
            api("application-autoscaling", "DescribeScalableTargets", ServiceNamespace="dynamodb")
            + f"  (table/{table} and its indexes: auto scaling a restore does not copy)",
            api("cloudwatch", "DescribeAlarms") + f"  (alarms with dimension TableName={table})",
            api("dynamodb", "GetResourcePolicy", ResourceArn=f"<{table} ARN>"),
            api("lambda", "ListEventSourceMappings", EventSourceArn=f"<{table} stream ARN>") + "  (stream consumers)",
            api("dynamodb", "DescribeKinesisStreamingDestination", TableName=table),
        ]

    def describe(self, source: dict[str, Any]) -> SourceExtras:
        """`source`: DescribeTable's Table of the source. A check AWS refuses is itself a listed gap."""
        extras = SourceExtras()
        checks: list[tuple[str, Callable[[dict[str, Any]], list[str]]]] = [
            ("auto scaling", self._autoscaling),
            ("alarms", self._alarms),
            ("resource policy", self._policy),
            ("replicas", self._replicas),
            ("stream consumers", self._stream_consumers),
        ]
        for what, check in checks:
            try:
                extras.gaps += check(source)
            except AwsApiError as exc:
                extras.gaps.append(f"(unknown: {what} of the source could not be read: {exc})")
        return extras

    def _autoscaling(self, source: dict[str, Any]) -> list[str]:
        name = source["TableName"]
        indexes = [i["IndexName"] for i in source.get("GlobalSecondaryIndexes") or []]
        ids = [f"table/{name}", *(f"table/{name}/index/{index}" for index in indexes)]
        found = self.ctx.call(
            "application-autoscaling", "describe_scalable_targets", ServiceNamespace="dynamodb", ResourceIds=ids
        )
        return [
            f"auto scaling of {t['ResourceId']} {t['ScalableDimension']} ({t['MinCapacity']}-{t['MaxCapacity']})"
            for t in found.get("ScalableTargets", [])
        ]

    def _alarms(self, source: dict[str, Any]) -> list[str]:
        name, out = source["TableName"], []
        for page in self.ctx.clients.paginate("cloudwatch", "describe_alarms"):
            for alarm in page.get("MetricAlarms", []):
                if any(d.get("Name") == "TableName" and d.get("Value") == name for d in _dimensions(alarm)):
                    out.append(f"alarm {alarm['AlarmName']} (it watches {name})")
        return out

    def _policy(self, source: dict[str, Any]) -> list[str]:
        found = self.ctx.clients.call(
            "dynamodb", "get_resource_policy", ResourceArn=source["TableArn"], ignore=("PolicyNotFoundException",)
        )
        return [] if found is None or not found.get("Policy") else ["the resource-based policy of the source"]

    def _replicas(self, source: dict[str, Any]) -> list[str]:
        regions = [
            r["RegionName"] for r in source.get("Replicas") or [] if r.get("RegionName") != self.ctx.target.region
        ]
        if not regions:
            return []
        return [f"global-table replicas in {', '.join(regions)} (a restore creates a single-region table)"]

    def _stream_consumers(self, source: dict[str, Any]) -> list[str]:
        out = []
        stream = source.get("LatestStreamArn")
        if stream:
            for page in self.ctx.clients.paginate("lambda", "list_event_source_mappings", EventSourceArn=stream):
                out += [
                    f"stream consumer {m.get('FunctionArn', '?').rsplit(':', 1)[-1]} (event source mapping {m['UUID']})"
                    for m in page.get("EventSourceMappings", [])
                ]
        kinesis = self.ctx.call("dynamodb", "describe_kinesis_streaming_destination", TableName=source["TableName"])
        out += [
            f"Kinesis streaming destination {d['StreamArn']}"
            for d in kinesis.get("KinesisDataStreamDestinations", [])
            if d.get("DestinationStatus") in ("ACTIVE", "ENABLING", "UPDATING")
        ]
        return out


def _dimensions(alarm: dict[str, Any]) -> list[dict[str, str]]:
    """An alarm's dimensions: its own, or those of the metrics of a metric-math alarm."""
    if alarm.get("Dimensions"):
        return list(alarm["Dimensions"])
    stats = [(m.get("MetricStat") or {}).get("Metric", {}) for m in alarm.get("Metrics") or []]
    return [d for metric in stats for d in metric.get("Dimensions", [])]
