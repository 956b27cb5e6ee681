"""Reserved concurrency and the bad version deployed through the alias, under moto."""

from __future__ import annotations

import pytest

from chaos.actions import ActionCall
from chaos.aws.lambda_faults import BAD_HANDLER
from chaos.provider import InjectedFault, RemediationContext
from common.errors import ProviderError

CONCURRENCY = ActionCall(name="lambda.reserved-concurrency", params={"limit": 0})
BAD = ActionCall(name="lambda.deploy-bad-version")


def test_reserved_concurrency_is_set_and_reverted_to_no_limit(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(CONCURRENCY)
    assert stack.concurrency() == 0
    assert undo["previous"] is None
    assert stack.markers() == ["/hanbit-drill/todo-api/lambda.reserved-concurrency/ap-northeast-2"]
    provider.revert(CONCURRENCY, undo)
    assert stack.concurrency() is None
    assert stack.markers() == []
    provider.revert(CONCURRENCY, undo)  # idempotent
    assert stack.concurrency() is None


def test_reserved_concurrency_revert_restores_an_earlier_limit(stack) -> None:
    stack.client("lambda").put_function_concurrency(FunctionName="todo-api", ReservedConcurrentExecutions=50)
    provider = stack.provider()
    undo = provider.inject(CONCURRENCY)
    assert stack.concurrency() == 0
    provider.remediate(ActionCall(name="lambda.delete-concurrency"), RemediationContext(fault_at=None))
    assert stack.concurrency() is None
    provider.revert(CONCURRENCY, undo)
    assert stack.concurrency() == 50


def test_revert_with_empty_undo_uses_the_ssm_marker(stack) -> None:
    # The harness was killed after the change and before the journal got the undo data.
    stack.client("lambda").put_function_concurrency(FunctionName="todo-api", ReservedConcurrentExecutions=7)
    stack.provider().inject(CONCURRENCY)
    other_process = stack.provider()
    other_process.revert(CONCURRENCY, {})
    assert stack.concurrency() == 7
    assert stack.markers() == []


def test_revert_of_a_fault_never_injected_is_a_no_op(stack) -> None:
    provider = stack.provider()
    provider.revert(CONCURRENCY, {})
    provider.revert(BAD, {})
    assert stack.concurrency() is None
    assert stack.alias()["FunctionVersion"] == "2"


def test_bad_version_is_published_from_the_served_version_and_routed(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(BAD)
    bad = str(undo["bad_version"])
    assert stack.alias()["FunctionVersion"] == bad
    published = {v["Version"]: v for v in stack.versions()}
    assert published[bad]["Handler"] == BAD_HANDLER
    assert published[bad]["MemorySize"] == published["2"]["MemorySize"]
    assert published[bad]["Environment"] == published["2"]["Environment"]
    assert stack.latest()["Handler"] == "app.handler"  # $LATEST is put back at once
    assert undo["alias_version"] == "2"


def test_bad_version_revert_restores_alias_and_deletes_the_version_twice_safely(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(BAD)
    provider.revert(BAD, undo)
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]
    assert stack.markers() == []
    provider.revert(BAD, undo)
    assert stack.alias()["FunctionVersion"] == "2"


def test_revert_after_rollback_does_not_clobber_the_alias(stack) -> None:
    provider = stack.provider()
    undo = provider.inject(BAD)
    detail = provider.remediate(
        ActionCall(name="lambda.rollback"),
        RemediationContext(fault_at=1.0, faults=(InjectedFault("bad", BAD.name, undo),)),
    )
    assert detail["to_version"] == "2"
    # An operator moves the alias on (a hotfix): revert must leave that alone and only clean up.
    stack.client("lambda").update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1")
    provider.revert(BAD, undo)
    assert stack.alias()["FunctionVersion"] == "1"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]


def test_invocation_error_without_fis_routes_the_share_to_a_bad_version(stack) -> None:
    provider = stack.provider(use_fis=False)
    call = ActionCall(name="lambda.invocation-error", params={"percentage": 25})
    undo = provider.inject(call)
    alias = stack.alias()
    assert alias["FunctionVersion"] == "2"
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {str(undo["bad_version"]): 0.25}
    provider.revert(call, undo)
    alias = stack.alias()
    assert alias["FunctionVersion"] == "2" and not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]


def test_failure_mid_way_leaves_nothing_behind(stack, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = stack.provider()
    lam = provider.clients.client("lambda", stack.PRIMARY)
    real = lam.update_alias

    def broken(**params):  # the alias update is refused after the version was published
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "UpdateAlias")

    monkeypatch.setattr(lam, "update_alias", broken)
    with pytest.raises(ProviderError, match="TooManyRequestsException"):
        provider.inject(BAD)
    monkeypatch.setattr(lam, "update_alias", real)
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]
    assert stack.latest()["Handler"] == "app.handler"
    assert stack.markers() == []
    provider.revert(BAD, {})  # the engine's revert after a failed inject: nothing left to do


def test_revert_cleans_a_bad_version_left_by_a_crash_before_the_journal_write(stack) -> None:
    provider = stack.provider()
    provider.inject(BAD)  # undo data lost with the crashed harness
    stack.provider().revert(BAD, {})
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]


def test_bad_version_refuses_to_publish_unreleased_latest(stack) -> None:
    stack.client("lambda").update_function_configuration(FunctionName="todo-api", Timeout=99)
    provider = stack.provider()
    with pytest.raises(ProviderError, match="differs from version 2 .* Timeout"):
        provider.inject(BAD)
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]


def test_weighted_fault_is_reverted_by_a_process_whose_target_now_uses_fis(stack) -> None:
    call = ActionCall(name="lambda.invocation-error", params={"percentage": 25})
    stack.provider(use_fis=False).inject(call)  # the journal's undo data was lost with the harness
    stack.provider(use_fis=True).revert(call, {})
    assert not stack.alias().get("RoutingConfig", {}).get("AdditionalVersionWeights")
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]
    assert stack.markers() == []


def test_when_the_cleanup_of_a_failed_inject_fails_too_the_marker_stays_for_revert(stack, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    provider = stack.provider()
    lam = provider.clients.client("lambda", stack.PRIMARY)
    real_update, real_delete = lam.update_alias, lam.delete_function

    def refuse(code):
        def call(**params):
            raise ClientError({"Error": {"Code": code, "Message": "refused"}}, "Call")

        return call

    monkeypatch.setattr(lam, "update_alias", refuse("TooManyRequestsException"))
    monkeypatch.setattr(lam, "delete_function", refuse("ServiceException"))
    with pytest.raises(ProviderError, match="TooManyRequestsException") as failed:
        provider.inject(BAD)
    assert any("revert again" in note for note in failed.value.__notes__)
    assert stack.markers() == ["/hanbit-drill/todo-api/lambda.deploy-bad-version"]
    monkeypatch.setattr(lam, "update_alias", real_update)
    monkeypatch.setattr(lam, "delete_function", real_delete)
    stack.provider().revert(BAD, {})  # e.g. `hanbit-drill cleanup`: the journal holds no undo data
    assert [v["Version"] for v in stack.versions()] == ["1", "2"]
    assert stack.markers() == []
