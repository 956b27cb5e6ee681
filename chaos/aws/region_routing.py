"""Scenario 3 runbook: fail over to the secondary region at the routing layer, and fail back.

Two routing layers are supported, whichever the target names:
- ARC routing control (`routing_control_arn`): the primary's control is set
  Off (failover) and On (failback) through the cluster's data-plane endpoints,
  trying each endpoint in turn as ARC recommends.
- Route 53 failover records with a health check on the primary
  (`health_check_id`): failover inverts the check (Inverted=True) so Route 53
  sees the primary unhealthy. If the check already fails (the outage is
  visible to it), Route 53 has failed over by itself and inverting would send
  traffic back to the broken region, so nothing is changed.
Failback waits until the primary is healthy (function serving, table and
replicas ACTIVE, the health checkers' raw observations successful) first.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, Failback, Failover
from chaos.aws.checks import function_problems, guarded
from chaos.aws.context import ActionHandler, AwsContext, NamedCall, api, marker_call
from chaos.aws.errors import AwsApiError
from chaos.aws.function import LambdaFunction
from chaos.provider import RemediationContext
from common.errors import ProviderError

ARC_CONTROL_REGION = "us-west-2"  # the ARC control-plane API lives only there
ROUTE53_HEALTHY_SHARE = 0.18
FAILOVER_MARKER = "region.failover"  # Route 53 calls a check healthy when more than 18 % of checkers do


class RegionRouting(ActionHandler):
    actions = frozenset({"region.failover", "region.failback"})

    def __init__(self, ctx: AwsContext) -> None:
        super().__init__(ctx)
        self._arc_endpoints: list[tuple[str, str]] | None = None  # the cluster's endpoints do not change

    # ---- health --------------------------------------------------------------------------------

    def region_problems(self, region: str) -> list[str]:
        """Why `region` cannot serve right now (empty: it can)."""
        fn = LambdaFunction(self.ctx, region)
        problems = []
        config = fn.configuration(self.target.alias)
        if config.get("State", "Active") != "Active":
            problems.append(f"function {fn.name} in {region} is {config.get('State')}")
        if fn.concurrency() == 0:
            problems.append(f"function {fn.name} in {region} has reserved concurrency 0 (all requests throttled)")
        table = self.ctx.call("dynamodb", "describe_table", region, TableName=self.target.table)["Table"]
        if table["TableStatus"] != "ACTIVE":
            problems.append(f"table {self.target.table} in {region} is {table['TableStatus']}")
        for replica in table.get("Replicas", []) or []:
            if replica.get("ReplicaStatus", "ACTIVE") != "ACTIVE":
                problems.append(
                    f"replica of {self.target.table} in {replica['RegionName']} is {replica['ReplicaStatus']}"
                )
        return problems

    def checkers_healthy(self) -> bool | None:
        """Raw verdict of the Route 53 health checkers (not inverted), None without observations."""
        found = self.ctx.call("route53", "get_health_check_status", HealthCheckId=self.target.health_check_id)
        observations = found.get("HealthCheckObservations", [])
        if not observations:
            return None
        ok = sum(1 for o in observations if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success"))
        return ok / len(observations) > ROUTE53_HEALTHY_SHARE

    def inverted(self) -> bool:
        found = self.ctx.call("route53", "get_health_check", HealthCheckId=self.target.health_check_id)
        return bool(found["HealthCheck"]["HealthCheckConfig"].get("Inverted", False))

    # ---- ARC -----------------------------------------------------------------------------------

    def arc_endpoints(self) -> list[tuple[str, str]]:
        if self._arc_endpoints is None:
            self._arc_endpoints = self._describe_arc_cluster()
        return self._arc_endpoints

    def _describe_arc_cluster(self) -> list[tuple[str, str]]:
        arn = self.target.routing_control_arn
        control = self.ctx.call(
            "route53-recovery-control-config", "describe_routing_control", ARC_CONTROL_REGION, RoutingControlArn=arn
        )["RoutingControl"]
        panel = self.ctx.call(
            "route53-recovery-control-config",
            "describe_control_panel",
            ARC_CONTROL_REGION,
            ControlPanelArn=control["ControlPanelArn"],
        )["ControlPanel"]
        cluster = self.ctx.call(
            "route53-recovery-control-config", "describe_cluster", ARC_CONTROL_REGION, ClusterArn=panel["ClusterArn"]
        )["Cluster"]
        return [(e["Endpoint"], e["Region"]) for e in cluster.get("ClusterEndpoints", [])]

    def arc_call(self, method: str, **params: Any) -> dict[str, Any]:
        errors = []
        for endpoint, region in self.arc_endpoints():
            try:
                found = self.ctx.clients.call(
                    "route53-recovery-cluster", method, region, endpoint_url=endpoint, **params
                )
                return found or {}
            except AwsApiError as exc:
                errors.append(str(exc))  # any one healthy endpoint will do
        raise ProviderError(
            "every ARC cluster endpoint failed: " + "; ".join(errors or ["the cluster has no endpoints"])
        )

    def arc_state(self) -> str:
        return str(
            self.arc_call("get_routing_control_state", RoutingControlArn=self.target.routing_control_arn)[
                "RoutingControlState"
            ]
        )

    # ---- protocol ------------------------------------------------------------------------------

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        return [*super().named_calls(call), marker_call(self.marker())]

    def preflight(self, call: ActionCall) -> list[str]:
        params = call.typed_params()
        secondary = self.target.secondary_region
        problems = []
        if secondary is None:
            return [f"{call.name}: the target has no secondary_region"]
        if isinstance(params, Failover) and params.to_region != secondary:
            problems.append(f"region.failover: to_region {params.to_region} is not the secondary_region {secondary}")
        if isinstance(params, Failback) and params.to_region != self.target.region:
            problems.append(
                f"region.failback: to_region {params.to_region} is not the primary region {self.target.region}"
            )
        if not self.target.routing_control_arn and not self.target.health_check_id:
            problems.append(
                f"{call.name}: the target names neither routing_control_arn (ARC) nor health_check_id "
                f"(Route 53) for the primary"
            )
        elif self.target.routing_control_arn:
            problems += guarded(lambda: self._readable(self.arc_state), "reading the ARC routing control")
        else:
            problems += guarded(lambda: self._readable(self.inverted), "reading the Route 53 health check")
        found = function_problems(self.ctx, secondary)
        problems += found or guarded(
            lambda: [f"secondary region not healthy: {p}" for p in self.region_problems(secondary)],
            f"checking the secondary region {secondary}",
        )
        return problems

    @staticmethod
    def _readable(read: Any) -> list[str]:
        read()  # an AWS error here is the problem `guarded` reports
        return []

    def plan(self, call: ActionCall) -> list[str]:
        failover = call.name == "region.failover"
        region = self.target.secondary_region if failover else self.target.region
        checks = [
            api("lambda", "GetFunctionConfiguration", FunctionName=self.target.function, Qualifier=self.target.alias)
            + f"  (in {region}: health)",
            api("lambda", "GetFunctionConcurrency", FunctionName=self.target.function) + f"  (in {region})",
            api("dynamodb", "DescribeTable", TableName=self.target.table)
            + f"  (in {region}: table and replicas ACTIVE)",
        ]
        if self.target.routing_control_arn:
            arn = self.target.routing_control_arn
            route = [
                api("route53-recovery-control-config", "DescribeRoutingControl", RoutingControlArn=arn)
                + "  (then DescribeControlPanel, DescribeCluster: the cluster endpoints)",
                api(
                    "route53-recovery-cluster",
                    "UpdateRoutingControlState",
                    RoutingControlArn=arn,
                    RoutingControlState="Off" if failover else "On",
                ),
            ]
        else:
            hc = self.target.health_check_id or "<health_check_id>"
            route = [
                api("route53", "GetHealthCheckStatus", HealthCheckId=hc),
                api("route53", "UpdateHealthCheck", HealthCheckId=hc, Inverted=failover)
                + ("  (only if the checkers still see the primary healthy)" if failover else ""),
            ]
        wait = [] if failover else ["(repeat the health reads until the primary is healthy)"]
        marker = (
            api("ssm", "PutParameter", Name=self.marker(), Value="<failover detail>")
            if failover
            else api("ssm", "DeleteParameter", Name=self.marker())
        )
        return ["remediate: " + line for line in [*checks, *wait, *route, marker]]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        if call.name == "region.failover":
            return self._failover(call)
        return self._failback(call)

    def _failover(self, call: ActionCall) -> dict[str, JsonValue]:
        secondary = self.target.secondary_region
        if secondary is None:
            raise ProviderError("region.failover: the target has no secondary_region")
        problems = self.region_problems(secondary)
        if problems:
            raise ProviderError(f"will not fail over to {secondary}: " + "; ".join(problems))
        detail: dict[str, JsonValue] = {"to_region": secondary}
        # A failover outlives the drill (remediations are not reverted): the marker lets the next
        # preflight say traffic is still on the secondary until a failback runs.
        self.ctx.markers.put(self.marker(), detail)
        if self.target.routing_control_arn:
            detail["previous_state"] = self.arc_state()
            self.arc_call(
                "update_routing_control_state",
                RoutingControlArn=self.target.routing_control_arn,
                RoutingControlState="Off",
            )
            detail["routing_control"] = "Off"
        elif self.checkers_healthy() is False:
            detail["health_check"] = "already failing: Route 53 routes to the secondary by itself"
        else:
            self.ctx.call("route53", "update_health_check", HealthCheckId=self.target.health_check_id, Inverted=True)
            detail["health_check"] = "inverted"
        self.ctx.markers.put(self.marker(), detail)
        return detail

    def marker(self) -> str:
        return self.ctx.markers.name(self.target.function, FAILOVER_MARKER)

    def _failback(self, call: ActionCall) -> dict[str, JsonValue]:
        primary = self.target.region

        def healthy() -> bool | None:
            problems = self.region_problems(primary)
            if self.target.health_check_id and not self.target.routing_control_arn and self.checkers_healthy() is False:
                problems.append("the Route 53 health checkers see the primary failing")
            return None if problems else True

        try:
            self.ctx.poll.until(healthy, f"the primary region {primary} to be healthy")
        except ProviderError as exc:
            raise ProviderError(
                f"will not fail back to {primary}: "
                + "; ".join(self.region_problems(primary) or ["its health check still fails"])
            ) from exc
        detail: dict[str, JsonValue] = {"to_region": primary}
        if self.target.routing_control_arn:
            self.arc_call(
                "update_routing_control_state",
                RoutingControlArn=self.target.routing_control_arn,
                RoutingControlState="On",
            )
            detail["routing_control"] = "On"
        elif self.inverted():
            self.ctx.call("route53", "update_health_check", HealthCheckId=self.target.health_check_id, Inverted=False)
            detail["health_check"] = "restored (not inverted)"
        else:
            detail["health_check"] = "not inverted: Route 53 fails back by itself"
        self.ctx.markers.delete(self.marker())
        return detail
