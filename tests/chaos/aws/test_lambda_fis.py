"""Lambda faults through FIS: botocore's Stubber plays FIS, moto plays Lambda, SSM, IAM and CloudWatch."""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from chaos.actions import ActionCall
from common.errors import ProviderError

ERROR = ActionCall(name="lambda.invocation-error", params={"percentage": 30})
LATENCY = ActionCall(name="lambda.add-latency", params={"latency_ms": 1500, "percentage": 50})
HTTP = ActionCall(name="lambda.http-status", params={"status_code": 503})
SLOW = ActionCall(name="lambda.slow-invocations", params={"duration_ms": 40000})


def expect_start(stack, fis, *statuses: str, template: str = "EXT1", experiment: str = "EXP1") -> None:
    fis.add_response(
        "create_experiment_template",
        {"experimentTemplate": {"id": template}},
        {
            "clientToken": ANY,
            "description": ANY,
            "roleArn": stack.target.fis_role_arn,
            "stopConditions": ANY,
            "targets": ANY,
            "actions": ANY,
            "tags": ANY,
        },
    )
    fis.add_response(
        "start_experiment",
        stack.experiment(experiment, "pending"),
        {"clientToken": ANY, "experimentTemplateId": template, "tags": ANY},
    )
    for status in statuses:
        fis.add_response("get_experiment", stack.experiment(experiment, status), {"id": experiment})


def expect_stop(stack, fis, *statuses: str, template: str = "EXT1", experiment: str = "EXP1") -> None:
    fis.add_response("get_experiment", stack.experiment(experiment, "running"), {"id": experiment})
    fis.add_response("stop_experiment", stack.experiment(experiment, "stopping"), {"id": experiment})
    for status in statuses:
        fis.add_response("get_experiment", stack.experiment(experiment, status), {"id": experiment})
    fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": template}}, {"id": template})
    fis.add_response("get_experiment", stack.experiment(experiment, statuses[-1]), {"id": experiment})  # leftovers


def template_request(provider) -> dict:
    return next(c.params for c in provider.clients.calls if c.api == "fis:CreateExperimentTemplate")


@pytest.mark.parametrize(
    "call, action_id, parameters",
    [
        (ERROR, "aws:lambda:invocation-error", {"invocationPercentage": "30", "preventExecution": "true"}),
        (
            LATENCY,
            "aws:lambda:invocation-add-delay",
            {"invocationPercentage": "50", "startupDelayMilliseconds": "1500"},
        ),
        (
            HTTP,
            "aws:lambda:invocation-http-integration-response",
            {
                "invocationPercentage": "100",
                "statusCode": "503",
                "contentTypeHeader": "application/json",
                "preventExecution": "true",
            },
        ),
        (SLOW, "aws:lambda:invocation-add-delay", {"invocationPercentage": "100", "startupDelayMilliseconds": "40000"}),
    ],
)
def test_template_targets_the_function_with_the_fis_action(stack, call, action_id, parameters) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    undo = provider.inject(call)
    template = template_request(provider)
    action = template["actions"]["fault"]
    assert action["actionId"] == action_id
    assert action["parameters"] == {**parameters, "duration": "PT180M"}
    assert action["targets"] == {"Functions": "Functions"}
    assert template["targets"]["Functions"] == {
        "resourceType": "aws:lambda:function",
        "selectionMode": "ALL",
        "resourceArns": ["arn:aws:lambda:ap-northeast-2:123456789012:function:todo-api"],
    }
    assert template["stopConditions"] == [
        {"source": "aws:cloudwatch:alarm", "value": arn} for arn in stack.target.stop_alarm_arns
    ]
    assert undo["experiment_id"] == "EXP1" and undo["template_id"] == "EXT1"
    fis.assert_no_pending_responses()


def test_no_alarms_means_stop_condition_none(stack) -> None:
    provider = stack.provider(stop_alarm_arns=[])
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    provider.inject(ERROR)
    assert template_request(provider)["stopConditions"] == [{"source": "none"}]


def test_inject_polls_pending_to_running_then_revert_stops_and_cleans_up(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "pending", "initiating", "running")
    undo = provider.inject(ERROR)
    assert len(stack.clock.sleeps) == 2  # it waited, on the fake clock, for each not-yet-running state
    assert stack.markers() == ["/hanbit-drill/todo-api/lambda.invocation-error"]
    expect_stop(stack, fis, "stopping", "stopped")
    provider.revert(ERROR, undo)
    fis.assert_no_pending_responses()
    assert stack.markers() == []


def test_revert_after_the_experiment_completed_only_deletes_the_template(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    undo = provider.inject(LATENCY)
    fis.add_response("get_experiment", stack.experiment("EXP1", "completed"), {"id": "EXP1"})
    fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": "EXT1"}}, {"id": "EXT1"})
    fis.add_response("get_experiment", stack.experiment("EXP1", "completed"), {"id": "EXP1"})  # leftover check
    provider.revert(LATENCY, undo)
    fis.assert_no_pending_responses()


def test_double_revert_is_idempotent(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    undo = provider.inject(HTTP)
    expect_stop(stack, fis, "stopped")
    provider.revert(HTTP, undo)
    # Second revert: the experiment is over and the template already gone.
    fis.add_response("get_experiment", stack.experiment("EXP1", "stopped"), {"id": "EXP1"})
    fis.add_client_error(
        "delete_experiment_template", "ResourceNotFoundException", "not found", expected_params={"id": "EXT1"}
    )
    fis.add_response("get_experiment", stack.experiment("EXP1", "stopped"), {"id": "EXP1"})
    provider.revert(HTTP, undo)
    fis.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["failed", "stopped", "cancelled"])
def test_experiment_that_does_not_start_is_an_error_and_leaves_nothing(stack, status) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    fis.add_response("create_experiment_template", {"experimentTemplate": {"id": "EXT1"}})
    fis.add_response("start_experiment", stack.experiment("EXP1", "pending"))
    fis.add_response("get_experiment", stack.experiment("EXP1", "initiating"))
    fis.add_response(
        "get_experiment",
        {
            "experiment": {
                "id": "EXP1",
                "state": {
                    "status": status,
                    "reason": "Target resolution failed",
                    "error": {"code": "ConfigurationFailure"},
                },
            }
        },
    )
    fis.add_response("get_experiment", stack.experiment("EXP1", status))  # cleanup: already ended
    fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": "EXT1"}}, {"id": "EXT1"})
    with pytest.raises(ProviderError, match=f"did not start: {status}: Target resolution failed .ConfigurationFailure"):
        provider.inject(ERROR)
    fis.assert_no_pending_responses()
    assert stack.markers() == []


def test_start_refused_by_fis_maps_the_aws_error_code(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    fis.add_response("create_experiment_template", {"experimentTemplate": {"id": "EXT1"}})
    fis.add_client_error("start_experiment", "ServiceQuotaExceededException", "too many experiments")
    fis.add_response("list_experiments", {"experiments": []}, {"experimentTemplateId": "EXT1"})
    fis.add_response("delete_experiment_template", {"experimentTemplate": {"id": "EXT1"}}, {"id": "EXT1"})
    with pytest.raises(ProviderError, match="fis:StartExperiment failed: ServiceQuotaExceededException"):
        provider.inject(ERROR)
    fis.assert_no_pending_responses()
    assert stack.markers() == []


def test_revert_in_another_process_finds_the_experiment_from_the_marker(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    provider.inject(ERROR)  # killed before the journal got the undo data
    other = stack.provider()
    fis2 = stack.stub(other, "fis")
    expect_stop(stack, fis2, "stopped")
    other.revert(ERROR, {})
    fis2.assert_no_pending_responses()
    assert stack.markers() == []


def test_stop_timeout_is_reported_and_keeps_the_marker(stack) -> None:
    provider = stack.provider()
    fis = stack.stub(provider, "fis")
    expect_start(stack, fis, "running")
    undo = provider.inject(ERROR)
    fis.add_response("get_experiment", stack.experiment("EXP1", "running"))
    fis.add_response("stop_experiment", stack.experiment("EXP1", "stopping"))
    for _ in range(40):
        fis.add_response("get_experiment", stack.experiment("EXP1", "stopping"))
    with pytest.raises(ProviderError, match="timed out after 60 s waiting for FIS experiment EXP1 to stop"):
        provider.revert(ERROR, undo)
    assert stack.markers() == ["/hanbit-drill/todo-api/lambda.invocation-error"]
