"""What drills left in the account, found and undone without any journal (Provider.leftovers / clear), under
moto: faults of a killed drill from their SSM markers, FIS templates and experiments of the drill on this
target (and no one else's), a failover left as it is."""

from __future__ import annotations

import json

import pytest

from chaos.actions import ActionCall
from chaos.aws.leftovers import FAILOVER, MARKER, TEMPLATE
from common.errors import ProviderError

CONCURRENCY = ActionCall(name="lambda.reserved-concurrency", params={"limit": 0})
BAD = ActionCall(name="lambda.deploy-bad-version")
FUNCTION_ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:{}"


def test_a_killed_drills_faults_are_found_and_reverted_from_their_markers(stack) -> None:
    stack.client("lambda").put_function_concurrency(FunctionName="todo-api", ReservedConcurrentExecutions=40)
    killed = stack.provider()
    killed.inject(CONCURRENCY)
    killed.inject(ActionCall(name="region.outage", params={"region": stack.SECONDARY}))
    killed.inject(BAD)
    assert stack.alias()["FunctionVersion"] == "3" and stack.concurrency(stack.SECONDARY) == 0
    # Another process, another machine: no journal, only the account.
    provider = stack.provider()
    found = provider.leftovers()
    assert [(f.kind, f.name) for f in found] == [
        (MARKER, "/hanbit-drill/todo-api/lambda.deploy-bad-version"),
        (MARKER, "/hanbit-drill/todo-api/lambda.reserved-concurrency/ap-northeast-2"),
        (MARKER, "/hanbit-drill/todo-api/region.outage/ap-northeast-1"),
    ]
    assert all(f.clearable for f in found)
    assert "lambda.reserved-concurrency still in effect" in found[1].detail and "previous=40" in found[1].detail
    done = [provider.clear(f) for f in found]
    assert done[0] == "reverted lambda.deploy-bad-version and deleted its marker /hanbit-drill/todo-api/lambda.deploy-bad-version"
    assert stack.alias()["FunctionVersion"] == "2" and [v["Version"] for v in stack.versions()] == ["1", "2"]
    assert stack.concurrency() == 40 and stack.concurrency(stack.SECONDARY) is None
    assert stack.markers() == [] and provider.leftovers() == []
    for left in found:
        provider.clear(left)  # idempotent: a second cleanup changes nothing
    assert stack.concurrency() == 40


def fis_template(stack, function: str, tagged: bool = True, start: bool = False) -> tuple[str, str | None]:
    fis = stack.client("fis")
    template = fis.create_experiment_template(
        clientToken=function + str(tagged), description=f"hanbit-drill lambda.add-latency on {function}",
        roleArn=stack.target.fis_role_arn, stopConditions=[{"source": "none"}],
        targets={"Functions": {"resourceType": "aws:lambda:function", "resourceArns": [FUNCTION_ARN.format(function)],
                               "selectionMode": "ALL"}},
        actions={"fault": {"actionId": "aws:lambda:invocation-add-delay", "parameters": {"duration": "PT180M"},
                           "targets": {"Functions": "Functions"}}},
        tags={"hanbit-drill": "lambda.add-latency"} if tagged else {"team": "payments"},
    )["experimentTemplate"]["id"]
    experiment = None
    if start:
        experiment = fis.start_experiment(clientToken=template, experimentTemplateId=template,
                                          tags={"hanbit-drill": "lambda.add-latency"})["experiment"]["id"]
    return template, experiment


def test_the_drills_fis_templates_on_this_target_are_stopped_and_deleted(stack) -> None:
    """A run killed after CreateExperimentTemplate/StartExperiment and before its marker named them."""
    ours, experiment = fis_template(stack, "todo-api", start=True)
    other_target, _ = fis_template(stack, "billing-api")  # another target's drill: not ours to end
    not_drill, _ = fis_template(stack, "todo-api", tagged=False)  # someone else's experiment on our function
    provider = stack.provider()
    (found,) = provider.leftovers()
    assert (found.kind, found.name) == (TEMPLATE, ours)
    assert f"experiments {experiment} pending" in found.detail
    assert provider.clear(found) == f"stopped the experiments of FIS template {ours} and deleted it"
    fis = stack.client("fis")
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "stopped"
    assert {t["id"] for t in fis.list_experiment_templates()["experimentTemplates"]} == {other_target, not_drill}
    assert provider.leftovers() == []


def test_a_template_its_marker_names_is_undone_with_the_marker(stack) -> None:
    template, experiment = fis_template(stack, "todo-api", start=True)
    stack.client("ssm").put_parameter(
        Name="/hanbit-drill/todo-api/lambda.add-latency", Type="String",
        Value=json.dumps({"region": stack.PRIMARY, "template_id": template, "experiment_id": experiment,
                          "function_arn": FUNCTION_ARN.format("todo-api")}))
    provider = stack.provider()
    (found,) = provider.leftovers()
    assert (found.kind, found.name) == (MARKER, "/hanbit-drill/todo-api/lambda.add-latency")
    provider.clear(found)
    assert stack.client("fis").list_experiment_templates()["experimentTemplates"] == []
    assert stack.markers() == []


def test_a_failover_and_unknown_markers_are_listed_and_left_alone(stack) -> None:
    ssm = stack.client("ssm")
    ssm.put_parameter(Name="/hanbit-drill/todo-api/region.failover", Type="String",
                      Value=json.dumps({"to_region": stack.SECONDARY, "health_check": "inverted"}))
    ssm.put_parameter(Name="/hanbit-drill/todo-api/auth.expire-tokens", Type="String", Value="{}")
    provider = stack.provider()
    expire, failover = provider.leftovers()  # by name
    assert (failover.kind, failover.clearable) == (FAILOVER, False)
    assert f"still failed over to {stack.SECONDARY}" in failover.detail and "region.failback" in failover.detail
    assert not expire.clearable and "not a marker of a fault this harness knows (auth.expire-tokens)" in expire.detail
    with pytest.raises(ProviderError, match="region.failback"):
        provider.clear(failover)
    assert len(stack.markers()) == 2
