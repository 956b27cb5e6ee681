"""Runbook steps of the Lambda drill, under moto."""

from __future__ import annotations

import pytest

from chaos.actions import ActionCall
from chaos.provider import InjectedFault, RemediationContext
from common.errors import InvalidInputError, ProviderError

NO_CONTEXT = RemediationContext(fault_at=None)
BAD = ActionCall(name="lambda.deploy-bad-version")


def test_rollback_without_fault_data_goes_to_the_highest_earlier_version(stack) -> None:
    provider = stack.provider()
    detail = provider.remediate(ActionCall(name="lambda.rollback"), NO_CONTEXT)
    assert detail == {"alias": "LIVE", "from_version": "2", "to_version": "1", "cleared_weights": []}
    assert stack.alias()["FunctionVersion"] == "1"


def test_rollback_takes_the_version_before_the_first_alias_fault(stack) -> None:
    """Two faults of one action keep their own undo data (by fault id). A later alias fault's snapshot is
    the version an earlier one made, so the rollback takes the first's; a fault whose undo data holds no
    alias version (FIS) is not one of them."""
    provider = stack.provider()
    first = provider.inject(BAD)
    later = {"region": "ap-northeast-2", "alias_version": first["bad_version"], "bad_version": "9"}
    context = RemediationContext(
        fault_at=1.0,
        faults=(
            InjectedFault("fis-errors", "lambda.invocation-error", {"experiment_id": "EXP1", "template_id": "T1"}),
            InjectedFault("bad-1", BAD.name, first),
            InjectedFault("bad-2", BAD.name, later),
        ),
    )
    detail = provider.remediate(ActionCall(name="lambda.rollback"), context)
    assert (detail["from_version"], detail["to_version"]) == (first["bad_version"], "2")
    provider.revert(BAD, first)
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"] and stack.markers() == []


def test_rollback_to_an_explicit_version_clears_routing(stack) -> None:
    lam = stack.client("lambda")
    lam.update_alias(
        FunctionName="todo-api",
        Name="LIVE",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
    )
    detail = stack.provider().remediate(ActionCall(name="lambda.rollback", params={"to_version": "2"}), NO_CONTEXT)
    assert detail["cleared_weights"] == ["1"]
    alias = stack.alias()
    assert alias["FunctionVersion"] == "2" and not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")


def test_rollback_without_an_earlier_version_is_a_clear_error(stack) -> None:
    stack.client("lambda").update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1")
    with pytest.raises(ProviderError, match="no previous version to roll back to"):
        stack.provider().remediate(ActionCall(name="lambda.rollback"), NO_CONTEXT)


def test_delete_concurrency_reports_the_limit_it_removed(stack) -> None:
    stack.client("lambda").put_function_concurrency(FunctionName="todo-api", ReservedConcurrentExecutions=0)
    detail = stack.provider().remediate(ActionCall(name="lambda.delete-concurrency"), NO_CONTEXT)
    assert detail == {"function": "todo-api", "previous_limit": 0}
    assert stack.concurrency() is None


def test_update_config_publishes_a_version_and_moves_the_alias(stack) -> None:
    call = ActionCall(name="lambda.update-config", params={"timeout_s": 30, "memory_mb": 512})
    detail = stack.provider().remediate(call, NO_CONTEXT)
    assert detail["from_version"] == "2" and detail["to_version"] == "3"
    served = stack.client("lambda").get_function_configuration(FunctionName="todo-api", Qualifier="LIVE")
    assert (served["Timeout"], served["MemorySize"], served["Version"]) == (30, 512, "3")
    assert served["Environment"]["Variables"]["LOG_LEVEL"] == "INFO"
    latest = stack.latest()  # $LATEST keeps the fix: it stays equal to what LIVE serves
    assert (latest["Timeout"], latest["MemorySize"]) == (30, 512)


def test_a_fault_cannot_be_remediated_nor_a_remediation_injected(stack) -> None:
    provider = stack.provider()
    with pytest.raises(InvalidInputError, match="is a fault, not a remediation"):
        provider.remediate(ActionCall(name="lambda.reserved-concurrency", params={"limit": 0}), NO_CONTEXT)
    with pytest.raises(InvalidInputError, match="is a remediation, not a fault"):
        provider.inject(ActionCall(name="lambda.rollback"))
    with pytest.raises(InvalidInputError, match="cannot perform auth.expire-tokens"):
        provider.inject(ActionCall(name="auth.expire-tokens"))
