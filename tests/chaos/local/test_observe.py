"""Game day on the bundled service: the operator's action read from the control plane's change log."""

from __future__ import annotations

from chaos.actions import ActionCall
from chaos.local.observe import observe
from chaos.provider import InjectedFault, RemediationContext

CONTEXT = RemediationContext(fault_at=100.0, faults=(
    InjectedFault("bad-deploy", "lambda.deploy-bad-version", {"previous_version": "1", "bad_version": "2"}),))


def entry(at: float, action: str, **detail) -> dict:
    return {"epoch_s": at, "action": action, "region": "ap-northeast-2", "detail": detail}


def test_rollback_to_the_previous_good_version_matches() -> None:
    seen = observe(ActionCall(name="lambda.rollback"), CONTEXT,
                   [entry(130, "function.update-alias", alias="LIVE", version="1", previous_version="2")])
    assert seen is not None and seen.matches_runbook and seen.at == 130 and seen.detail == "LIVE moved to version 1"


def test_rollback_to_another_version_is_reported_and_a_later_right_one_still_counts() -> None:
    wrong = entry(120, "function.update-alias", alias="LIVE", version="3")
    seen = observe(ActionCall(name="lambda.rollback"), CONTEXT, [wrong])
    assert seen is not None and not seen.matches_runbook
    assert seen.detail == "LIVE moved to version 3, but the runbook's previous good version is 1"
    right = entry(140, "function.update-alias", alias="LIVE", version="1")
    assert observe(ActionCall(name="lambda.rollback"), CONTEXT, [wrong, right]).at == 140


def test_a_restore_counts_once_the_function_reads_the_restored_table() -> None:
    call = ActionCall(name="table.restore", params={"target_table": "todos-restored"})
    restored = entry(200, "table.restore", table="todos-restored", items=42)
    partial = observe(call, CONTEXT, [restored])
    assert partial is not None and not partial.matches_runbook and "repoint TABLE_NAME" in partial.detail
    repointed = entry(210, "function.update-configuration", config={"table_name": "todos-restored"})
    done = observe(call, CONTEXT, [restored, repointed])
    assert done is not None and done.matches_runbook and done.at == 210


def test_a_restore_into_another_table_is_not_the_runbooks() -> None:
    call = ActionCall(name="table.restore", params={"target_table": "todos-restored"})
    seen = observe(call, CONTEXT, [entry(200, "table.restore", table="todos-copy")])
    assert seen is not None and not seen.matches_runbook and "runbook names todos-restored" in seen.detail


def test_failover_to_the_named_region() -> None:
    call = ActionCall(name="region.failover", params={"to_region": "ap-northeast-1"})
    assert observe(call, CONTEXT, [entry(300, "edge.switch", active="ap-northeast-1")]).matches_runbook
    assert not observe(call, CONTEXT, [entry(300, "edge.switch", active="ap-northeast-2")]).matches_runbook
    assert observe(call, CONTEXT, [entry(300, "function.update-alias", version="1")]) is None
