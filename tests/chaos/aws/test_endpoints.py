"""Region drills take the clients' path: failover_url resolves, each region answers, clients are on the primary."""

from __future__ import annotations

from chaos.actions import ActionCall
from chaos.targets import AwsTarget

OUTAGE = ActionCall(name="region.outage", params={"region": "ap-northeast-2"})
FAILOVER = ActionCall(name="region.failover", params={"to_region": "ap-northeast-1"})
REGION_DRILL = [OUTAGE, FAILOVER]


def endpoint_problems(provider, calls=REGION_DRILL) -> list[str]:
    return [p for p in provider.preflight(calls) if "failover_url" in p or "endpoint" in p or "api_url" in p]


def test_a_ready_clients_path_has_no_problem(stack) -> None:
    assert stack.provider().preflight(REGION_DRILL) == []


def test_a_region_drill_without_failover_url_is_refused(stack) -> None:
    [problem] = endpoint_problems(stack.provider(failover_url=None))
    assert problem.startswith("region drill: the target has no failover_url")
    assert "can only recover by reverting the fault" in problem


def test_a_failover_name_that_does_not_resolve(stack) -> None:
    stack.endpoints.names.clear()
    [problem] = endpoint_problems(stack.provider())
    assert problem.startswith("failover_url https://api.staging.example.com: api.staging.example.com does not resolve")


def test_each_regional_endpoint_must_answer_for_its_region(stack) -> None:
    secondary = stack.target.secondary_api_url
    stack.endpoints.health[secondary] = (503, None)
    assert endpoint_problems(stack.provider()) == [
        f"the ap-northeast-1 endpoint {secondary} answers /health with HTTP 503"
    ]
    del stack.endpoints.health[secondary]
    [problem] = endpoint_problems(stack.provider())
    assert problem.startswith(f"the ap-northeast-1 endpoint {secondary} does not answer /health: connection refused")
    stack.endpoints.health[secondary] = (200, "ap-northeast-2")
    assert endpoint_problems(stack.provider()) == [
        f"the ap-northeast-1 endpoint {secondary} says it is ap-northeast-2: regional URLs swapped?"
    ]


def test_clients_already_on_the_secondary_are_a_problem(stack) -> None:
    stack.endpoints.health[stack.target.failover_url] = (200, "ap-northeast-1")
    [problem] = endpoint_problems(stack.provider())
    assert "is served by ap-northeast-1, not the primary ap-northeast-2: traffic is already failed over" in problem


def test_without_secondary_api_url_the_secondary_cannot_be_checked(stack) -> None:
    [problem] = endpoint_problems(stack.provider(secondary_api_url=None))
    assert problem.startswith("the target has no secondary_api_url")


def test_other_drills_do_not_probe_the_endpoints(stack) -> None:
    stack.endpoints.names.clear()
    stack.endpoints.health.clear()
    assert stack.provider().preflight([ActionCall(name="lambda.deploy-bad-version")]) == []


def test_region_drills_send_their_load_to_the_failover_name() -> None:
    target = AwsTarget(api_url="https://a.execute-api.ap-northeast-2.amazonaws.com/prod", failover_url="https://api.x")
    assert target.load_url(["region.outage", "region.failover"]) == "https://api.x"
    assert target.load_url(["lambda.deploy-bad-version", "lambda.rollback"]) is None  # the session's api_url
    assert AwsTarget(api_url="https://a.example").load_url(["region.outage"]) is None
