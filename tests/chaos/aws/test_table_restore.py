"""Backup, restore (PITR and backup) with settings re-applied and TABLE_NAME repointed; throttling."""

from __future__ import annotations

import time

import pytest

from chaos.actions import ActionCall
from chaos.provider import RemediationContext
from common.errors import ProviderError

RESTORE = ActionCall(name="table.restore")


def test_backup_is_named_like_the_runbook_and_available(stack) -> None:
    detail = stack.provider().remediate(ActionCall(name="table.backup"), RemediationContext(fault_at=None))
    assert detail["backup_name"].startswith("todos-backup-") and len(detail["backup_name"]) == len(
        "todos-backup-20250101-120000"
    )
    backups = stack.client("dynamodb").list_backups(TableName="todos")["BackupSummaries"]
    assert [b["BackupArn"] for b in backups] == [detail["backup_arn"]]


def restorable_fault_time(stack) -> float:
    # moto freezes the PITR window at the moment it was enabled; AWS moves its end along, ~5 min behind now.
    window = stack.client("dynamodb").describe_continuous_backups(TableName="todos")["ContinuousBackupsDescription"]
    return window["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"].timestamp() + 1.0


def test_pitr_restore_reapplies_settings_and_repoints_the_function(stack) -> None:
    items = stack.put_items(5)
    fault_at = restorable_fault_time(stack)
    detail = stack.provider().remediate(RESTORE, RemediationContext(fault_at=fault_at))
    ddb = stack.client("dynamodb")
    restored = ddb.describe_table(TableName="todos-restored")["Table"]
    assert restored["TableStatus"] == "ACTIVE"
    assert len(stack.items("todos-restored")) == len(items)
    assert detail["restore_point"].startswith(time.strftime("%Y-%m-%d", time.gmtime(fault_at - 1)))
    assert ddb.describe_time_to_live(TableName="todos-restored")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    tags = ddb.list_tags_of_resource(ResourceArn=restored["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"app": "hanbit-todo", "env": "staging"}
    assert restored["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    pitr = ddb.describe_continuous_backups(TableName="todos-restored")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert sorted(detail["reapplied"]) == ["pitr", "stream:NEW_AND_OLD_IMAGES", "tags:2", "ttl:expires_at"]
    # Repointed on a new version behind LIVE; every other variable kept as it was.
    served = stack.client("lambda").get_function_configuration(FunctionName="todo-api", Qualifier="LIVE")
    assert served["Version"] == detail["to_version"] == "3"
    variables = served["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == "todos-restored"
    assert variables["LOG_LEVEL"] == "INFO" and variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
    assert stack.latest()["Environment"]["Variables"] == variables


def test_pitr_restore_needs_the_fault_time(stack) -> None:
    with pytest.raises(ProviderError, match="needs the time of the fault"):
        stack.provider().remediate(RESTORE, RemediationContext(fault_at=None))


def test_pitr_restore_point_outside_the_window_is_refused(stack) -> None:
    with pytest.raises(ProviderError, match="before the earliest restorable time"):
        stack.provider().remediate(RESTORE, RemediationContext(fault_at=time.time() - 86400))
    assert "todos-restored" not in stack.client("dynamodb").list_tables()["TableNames"]


def test_pitr_restore_waits_until_the_window_covers_the_restore_point(stack) -> None:
    # The window never reaches a point 10 min after it here: the wait must end in a clear timeout.
    with pytest.raises(ProviderError, match="timed out after 60 s waiting for point-in-time recovery of todos"):
        stack.provider().remediate(RESTORE, RemediationContext(fault_at=restorable_fault_time(stack) + 600))
    assert len(stack.clock.sleeps) == 30
    assert "todos-restored" not in stack.client("dynamodb").list_tables()["TableNames"]


def test_backup_restore_takes_the_latest_backup_before_the_fault(stack) -> None:
    stack.put_items(3)
    ddb = stack.client("dynamodb")
    before = ddb.create_backup(TableName="todos", BackupName="todos-backup-before")["BackupDetails"]["BackupArn"]
    fault_at = time.time() + 0.5
    time.sleep(1.1)  # backup creation times come from moto's wall clock
    ddb.create_backup(TableName="todos", BackupName="todos-backup-after")
    call = ActionCall(name="table.restore", params={"source": "backup", "repoint": False})
    detail = stack.provider().remediate(call, RemediationContext(fault_at=fault_at))
    assert detail["backup_arn"] == before
    assert len(stack.items("todos-restored")) == 3
    assert stack.alias()["FunctionVersion"] == "2"  # repoint: false


def test_backup_restore_without_backups_is_a_clear_error(stack) -> None:
    call = ActionCall(name="table.restore", params={"source": "backup"})
    with pytest.raises(ProviderError, match="table todos has no AVAILABLE backup made before the fault"):
        stack.provider().remediate(call, RemediationContext(fault_at=time.time()))


def _provisioned(stack) -> None:
    stack.client("dynamodb").create_table(
        TableName="orders",
        BillingMode="PROVISIONED",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 400, "WriteCapacityUnits": 300},
    )


def test_throttle_lowers_provisioned_capacity_and_revert_restores_it(stack) -> None:
    _provisioned(stack)
    provider = stack.provider(table="orders")
    call = ActionCall(name="table.throttle", params={"write_capacity": 2})
    undo = provider.inject(call)
    ddb = stack.client("dynamodb")
    throughput = ddb.describe_table(TableName="orders")["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (400, 2)
    provider.revert(call, undo)
    throughput = ddb.describe_table(TableName="orders")["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (400, 300)
    provider.revert(call, undo)  # nothing to change: no update is sent (DynamoDB would reject it)
    updates = [c for c in provider.clients.calls if c.api == "dynamodb:UpdateTable"]
    assert len(updates) == 2


def test_throttle_caps_an_on_demand_table_with_max_throughput(stack) -> None:
    provider = stack.provider()
    call = ActionCall(name="table.throttle", params={"read_capacity": 5, "write_capacity": 1})
    undo = provider.inject(call)
    update = next(c.params for c in provider.clients.calls if c.api == "dynamodb:UpdateTable")
    assert update == {"TableName": "todos", "OnDemandThroughput": {"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 1}}
    assert undo["mode"] == "PAY_PER_REQUEST" and undo["before"] == {"read": -1, "write": -1}
    assert (
        stack.client("dynamodb").describe_table(TableName="todos")["Table"]["BillingModeSummary"]["BillingMode"]
        == "PAY_PER_REQUEST"
    )  # the billing mode is never switched
