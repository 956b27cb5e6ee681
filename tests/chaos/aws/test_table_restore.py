"""Backup, restore (PITR and backup) with settings re-applied and TABLE_NAME repointed; throttling."""

from __future__ import annotations

import json
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
    assert detail["not_restored"] == []  # the source has nothing else a restore leaves behind
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


# ---- a restore that leaves nothing unsaid (issue 17) ---------------------------------------------------------


def test_enabling_pitr_on_the_restored_table_is_retried_while_aws_says_backups_are_unavailable(
    stack, monkeypatch
) -> None:
    from botocore.exceptions import ClientError

    provider = stack.provider()
    ddb = provider.clients.client("dynamodb", stack.PRIMARY)
    real, attempts = ddb.update_continuous_backups, []

    def not_yet(**params):
        attempts.append(params["TableName"])
        if len(attempts) <= 2:  # what AWS answers for a while after a restored table is ACTIVE
            error = {"Code": "ContinuousBackupsUnavailableException", "Message": "Backups are being enabled"}
            raise ClientError({"Error": error}, "UpdateContinuousBackups")
        return real(**params)

    monkeypatch.setattr(ddb, "update_continuous_backups", not_yet)
    detail = provider.remediate(RESTORE, RemediationContext(fault_at=restorable_fault_time(stack)))
    assert attempts == ["todos-restored"] * 3
    assert stack.clock.sleeps[-2:] == [5.0, 10.0]  # doubling waits
    assert "pitr" in detail["reapplied"]
    pitr = stack.client("dynamodb").describe_continuous_backups(TableName="todos-restored")
    assert pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_pitr_still_refused_is_listed_and_the_repoint_still_happens(stack, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    provider = stack.provider()
    ddb = provider.clients.client("dynamodb", stack.PRIMARY)

    def never(**params):
        error = {"Code": "ContinuousBackupsUnavailableException", "Message": "Backups are being enabled"}
        raise ClientError({"Error": error}, "UpdateContinuousBackups")

    monkeypatch.setattr(ddb, "update_continuous_backups", never)
    detail = provider.remediate(RESTORE, RemediationContext(fault_at=restorable_fault_time(stack)))
    assert "pitr" not in detail["reapplied"]
    assert any(g.startswith("todos-restored lacks pitr of the source: re-applying it failed") for g in detail["not_restored"])
    assert stack.client("lambda").get_alias(FunctionName="todo-api", Name="LIVE")["FunctionVersion"] == "3"


def test_what_a_restore_cannot_copy_is_found_on_the_source_and_listed(stack) -> None:
    ddb, region = stack.client("dynamodb"), stack.PRIMARY
    source = ddb.describe_table(TableName="todos")["Table"]
    stack.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/todos",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=5,
        MaxCapacity=100,
    )
    stack.client("cloudwatch").put_metric_alarm(
        AlarmName="todos-throttled",
        Namespace="AWS/DynamoDB",
        MetricName="ThrottledRequests",
        Dimensions=[{"Name": "TableName", "Value": "todos"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "dynamodb:GetItem",
                "Resource": source["TableArn"],
            }
        ],
    }
    ddb.put_resource_policy(ResourceArn=source["TableArn"], Policy=json.dumps(policy))
    role = stack.client("lambda").get_function(FunctionName="todo-api")["Configuration"]["Role"]
    consumer = stack.client("lambda").create_function(
        FunctionName="todo-search-indexer",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": stack.code_zip()},
    )
    stack.client("lambda").create_event_source_mapping(
        EventSourceArn=source["LatestStreamArn"], FunctionName=consumer["FunctionArn"], StartingPosition="LATEST"
    )
    detail = stack.provider().remediate(RESTORE, RemediationContext(fault_at=restorable_fault_time(stack)))
    lacks = "\n".join(detail["not_restored"])
    assert "todos-restored lacks auto scaling of table/todos dynamodb:table:ReadCapacityUnits (5-100)" in lacks
    assert "todos-restored lacks alarm todos-throttled (it watches todos)" in lacks
    assert "todos-restored lacks the resource-based policy of the source" in lacks
    assert "todos-restored lacks stream consumer todo-search-indexer (event source mapping " in lacks
    assert region in source["TableArn"]


def test_the_replicas_of_a_global_table_are_listed(stack) -> None:
    from chaos.aws.table_gaps import RestoreGaps

    provider = stack.provider()
    source = stack.client("dynamodb").describe_table(TableName="todos")["Table"]
    # moto keeps no replicas in DescribeTable: what AWS answers for a global table in two regions.
    source["Replicas"] = [{"RegionName": stack.PRIMARY}, {"RegionName": stack.SECONDARY, "ReplicaStatus": "ACTIVE"}]
    gaps = RestoreGaps(provider.ctx).describe(source).lacking("todos-restored")
    assert "todos-restored lacks global-table replicas in ap-northeast-1 (a restore creates a single-region table)" in gaps


def test_the_secondary_regions_function_still_on_the_source_is_named(stack) -> None:
    detail = stack.provider().remediate(RESTORE, RemediationContext(fault_at=restorable_fault_time(stack)))
    assert detail["not_repointed"] == [
        "todo-api:LIVE in ap-northeast-1 still serves TABLE_NAME=todos: todos-restored exists in ap-northeast-2 only; "
        "add a replica there (UpdateTable ReplicaUpdates Create RegionName=ap-northeast-1) and repoint it, or a "
        "failover serves the corrupted data"
    ]
    secondary = stack.client("lambda", stack.SECONDARY).get_function_configuration(FunctionName="todo-api", Qualifier="LIVE")
    assert secondary["Environment"]["Variables"]["TABLE_NAME"] == "todos"  # left as it was, and said so
