"""Region outage, replication pause, failover and failback (Route 53 under moto, ARC via Stubber)."""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from chaos.actions import ActionCall
from chaos.provider import RemediationContext
from common.errors import ProviderError

CTX = RemediationContext(fault_at=None)
OUTAGE = ActionCall(name="region.outage", params={"region": "ap-northeast-2"})
FAILOVER = ActionCall(name="region.failover", params={"to_region": "ap-northeast-1"})
FAILBACK = ActionCall(name="region.failback", params={"to_region": "ap-northeast-2"})
ARC = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc/routingcontrol/primary"


def inverted(stack) -> bool:
    found = stack.client("route53").get_health_check(HealthCheckId=stack.target.health_check_id)
    return found["HealthCheck"]["HealthCheckConfig"]["Inverted"]


def test_outage_throttles_only_that_regions_function(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(OUTAGE)
    assert stack.concurrency(stack.PRIMARY) == 0 and stack.concurrency(stack.SECONDARY) is None
    provider.revert(OUTAGE, undo)
    provider.revert(OUTAGE, undo)
    assert stack.concurrency(stack.PRIMARY) is None


def test_outage_of_the_secondary_region(stack) -> None:
    call = ActionCall(name="region.outage", params={"region": "ap-northeast-1"})
    provider = stack.provider()
    undo = provider.inject(call)
    assert stack.concurrency(stack.SECONDARY) == 0 and stack.concurrency(stack.PRIMARY) is None
    provider.revert(call, undo)
    assert stack.concurrency(stack.SECONDARY) is None


def test_failover_inverts_the_primary_health_check_and_failback_restores_it(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(OUTAGE)
    detail = provider.remediate(FAILOVER, CTX)
    assert detail == {"to_region": "ap-northeast-1", "health_check": "inverted"}
    assert inverted(stack)
    # Failback waits for the primary: the outage is lifted while it polls (on the fake clock).
    stack.clock.on_sleep.append(lambda: provider.revert(OUTAGE, undo))
    detail = provider.remediate(FAILBACK, CTX)
    assert detail == {"to_region": "ap-northeast-2", "health_check": "restored (not inverted)"}
    assert not inverted(stack)
    assert len(stack.clock.sleeps) >= 1


def test_failover_refuses_an_unhealthy_secondary(stack) -> None:
    stack.client("lambda", stack.SECONDARY).put_function_concurrency(
        FunctionName="todo-api", ReservedConcurrentExecutions=0
    )
    with pytest.raises(ProviderError, match="will not fail over to ap-northeast-1: .*reserved concurrency 0"):
        stack.provider().remediate(FAILOVER, CTX)
    assert not inverted(stack)


def test_failback_gives_up_while_the_primary_is_down(stack) -> None:
    provider = stack.provider()
    provider.inject(OUTAGE)
    provider.remediate(FAILOVER, CTX)
    with pytest.raises(ProviderError, match="will not fail back to ap-northeast-2: .*reserved concurrency 0"):
        provider.remediate(FAILBACK, CTX)
    assert inverted(stack)  # traffic stays on the secondary


def test_failover_does_not_invert_a_check_that_already_fails(stack) -> None:
    provider = stack.provider()
    route53 = stack.stub(provider, "route53")
    failing = {"Status": "Failure: HTTP Status Code 429, Too Many Requests", "CheckedTime": "2025-01-01T00:00:00Z"}
    route53.add_response(
        "get_health_check_status",
        {
            "HealthCheckObservations": [
                {"Region": r, "IPAddress": "203.0.113.1", "StatusReport": failing}
                for r in ("us-east-1", "eu-west-1", "ap-southeast-1")
            ]
        },
        {"HealthCheckId": stack.target.health_check_id},
    )
    detail = provider.remediate(FAILOVER, CTX)
    assert detail["health_check"].startswith("already failing")
    route53.assert_no_pending_responses()  # no UpdateHealthCheck was sent


def arc_stubs(stack, provider):
    config = stack.stub(provider, "route53-recovery-control-config", "us-west-2")
    config.add_response(
        "describe_routing_control",
        {
            "RoutingControl": {
                "ControlPanelArn": "arn:aws:route53-recovery-control::123456789012:controlpanel/abc",
                "RoutingControlArn": ARC,
            }
        },
    )
    config.add_response(
        "describe_control_panel",
        {"ControlPanel": {"ClusterArn": "arn:aws:route53-recovery-control::123456789012:cluster/c1"}},
    )
    config.add_response(
        "describe_cluster",
        {
            "Cluster": {
                "ClusterEndpoints": [
                    {"Endpoint": "https://host-a.example.com/v1", "Region": "us-west-2"},
                    {"Endpoint": "https://host-b.example.com/v1", "Region": "eu-west-1"},
                ]
            }
        },
    )
    down = stack.stub(provider, "route53-recovery-cluster", "us-west-2", "https://host-a.example.com/v1")
    up = stack.stub(provider, "route53-recovery-cluster", "eu-west-1", "https://host-b.example.com/v1")
    return config, down, up


def test_failover_through_arc_tries_the_next_cluster_endpoint(stack) -> None:
    provider = stack.provider(routing_control_arn=ARC)
    config, down, up = arc_stubs(stack, provider)
    down.add_client_error("get_routing_control_state", "EndpointTemporarilyUnavailableException", "try another")
    up.add_response("get_routing_control_state", {"RoutingControlArn": ARC, "RoutingControlState": "On"})
    down.add_client_error("update_routing_control_state", "EndpointTemporarilyUnavailableException", "try another")
    up.add_response("update_routing_control_state", {}, {"RoutingControlArn": ARC, "RoutingControlState": "Off"})
    detail = provider.remediate(FAILOVER, CTX)
    assert detail == {"to_region": "ap-northeast-1", "previous_state": "On", "routing_control": "Off"}
    for stub in (config, down, up):
        stub.assert_no_pending_responses()


def test_pause_replication_runs_the_fis_action_on_the_table(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    fis.add_response("create_experiment_template", {"experimentTemplate": {"id": "EXT9"}})
    fis.add_response(
        "start_experiment",
        stack.experiment("EXP9", "initiating"),
        {"clientToken": ANY, "experimentTemplateId": "EXT9", "tags": ANY},
    )
    fis.add_response("get_experiment", stack.experiment("EXP9", "running"))
    call = ActionCall(name="region.pause-replication")
    undo = provider.inject(call)
    template = next(c.params for c in provider.clients.calls if c.api == "fis:CreateExperimentTemplate")
    assert template["actions"]["fault"]["actionId"] == "aws:dynamodb:global-table-pause-replication"
    assert template["targets"]["Tables"]["resourceType"] == "aws:dynamodb:global-table"
    assert template["targets"]["Tables"]["resourceArns"] == [undo["table_arn"]]
    assert undo["table_arn"].endswith(":table/todos")
    fis.add_response("get_experiment", stack.experiment("EXP9", "running"))
    fis.add_response("stop_experiment", stack.experiment("EXP9", "stopping"))
    fis.add_response("get_experiment", stack.experiment("EXP9", "stopped"))
    fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": "EXT9"}})
    fis.add_response("get_experiment", stack.experiment("EXP9", "stopped"))
    provider.revert(call, undo)
    fis.assert_no_pending_responses()


def test_a_failover_left_in_place_is_reported_until_failback(stack) -> None:
    provider = stack.provider()
    provider.remediate(FAILOVER, CTX)
    problems = stack.provider().preflight([OUTAGE])
    assert any("traffic is still failed over to ap-northeast-1 by an earlier drill" in p for p in problems), problems
    provider.remediate(FAILBACK, CTX)
    assert stack.provider().preflight([OUTAGE]) == []
