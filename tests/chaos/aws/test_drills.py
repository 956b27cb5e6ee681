"""The three drills of the manual, step by step as the engine runs them, against the moto stack."""

from __future__ import annotations

from chaos.actions import ActionCall
from chaos.provider import InjectedFault, RemediationContext


def context(fault_at, *faults: tuple[ActionCall, dict]) -> RemediationContext:
    """The context the engine builds: each injected fault with its own undo data, by fault id."""
    injected = tuple(InjectedFault(id=f"f{i}", action=call.name, undo=undo) for i, (call, undo) in enumerate(faults))
    return RemediationContext(fault_at=fault_at, faults=injected)


def test_lambda_failure_drill(stack) -> None:
    provider = stack.provider()
    fault, fix = (
        ActionCall(name="lambda.deploy-bad-version"),
        ActionCall(name="lambda.rollback", params={"alias": "LIVE"}),
    )
    assert provider.preflight([fault, fix]) == []
    undo = provider.inject(fault)
    assert stack.alias()["FunctionVersion"] == undo["bad_version"] == "3"
    detail = provider.remediate(fix, context(1.0, (fault, undo)))
    assert detail["from_version"] == "3" and detail["to_version"] == "2"
    provider.revert(fault, undo)
    assert stack.alias()["FunctionVersion"] == "2"
    assert [v["Version"] for v in stack.versions()] == ["1", "2"] and stack.markers() == []


def test_table_corruption_drill(stack) -> None:
    originals = {i["todoId"]["S"]: i for i in stack.put_items(10)}
    provider = stack.provider()
    backup = ActionCall(name="table.backup")
    fault = ActionCall(name="table.corrupt", params={"fraction": 0.2, "id_prefix": stack.RUN_PREFIX})
    restore = ActionCall(name="table.restore")
    assert provider.preflight([backup, fault, restore]) == []
    provider.remediate(backup, context(None))
    undo = provider.inject(fault)
    assert stack.items() != originals
    window = stack.client("dynamodb").describe_continuous_backups(TableName="todos")["ContinuousBackupsDescription"]
    fault_at = window["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"].timestamp() + 1
    detail = provider.remediate(restore, context(fault_at, (fault, undo)))
    served = stack.client("lambda").get_function_configuration(FunctionName="todo-api", Qualifier="LIVE")
    assert served["Environment"]["Variables"]["TABLE_NAME"] == detail["restored_table"] == "todos-restored"
    provider.revert(fault, undo)
    assert stack.items() == originals  # the source table is left clean for the post-mortem
    assert stack.markers() == []


def test_region_outage_drill(stack) -> None:
    provider = stack.provider()
    fault = ActionCall(name="region.outage", params={"region": "ap-northeast-2", "mode": "refuse"})
    failover = ActionCall(name="region.failover", params={"to_region": "ap-northeast-1"})
    failback = ActionCall(name="region.failback", params={"to_region": "ap-northeast-2"})
    assert provider.preflight([fault, failover, failback]) == []
    undo = provider.inject(fault)
    assert stack.concurrency() == 0
    provider.remediate(failover, context(1.0))
    provider.revert(fault, undo)
    assert stack.concurrency() is None
    detail = provider.remediate(failback, context(1.0))
    assert detail["health_check"] == "restored (not inverted)"
    assert stack.markers() == []
    assert stack.clock.sleeps == []  # the primary was healthy at once: no wait
