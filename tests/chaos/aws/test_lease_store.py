"""An aws target's lease: one SSM parameter (moto), created atomically, beside the fault markers but never
among them (preflight and cleanup list `/hanbit-drill/<function>/` for leftovers)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chaos.aws.clients import AwsClients
from chaos.aws.lease_store import SsmLeaseStore, lease_parameter
from chaos.aws.limits import AwsLimitError
from chaos.aws.markers import FaultMarkers
from chaos.lease import LeaseHeldError, LeaseRecord, TargetLease

REGION = "ap-northeast-2"


@pytest.fixture
def clients():
    with mock_aws():
        made = AwsClients(boto3.Session(region_name=REGION), REGION)
        yield made
        made.close()


def record(name: str, expires_at: float = 9e9) -> LeaseRecord:
    return LeaseRecord(owner=f"{name}@ci", host="runner", pid=1, run_id=name, acquired_at=0, expires_at=expires_at,
                       token=name)


def test_only_the_first_creator_gets_the_parameter(clients: AwsClients) -> None:
    store = SsmLeaseStore(clients, "/hanbit-drill", "todo-api", REGION)
    assert store.name == "/hanbit-drill/drill.lease/todo-api"
    assert store.read() is None
    assert store.create(record("a")) is True
    assert store.create(record("b")) is False
    assert store.read() == record("a")
    store.replace(record("a", expires_at=1.0))
    assert store.read().expires_at == 1.0
    store.delete()
    store.delete()  # idempotent
    assert store.read() is None


def test_a_second_drill_on_the_account_is_refused_and_the_lease_is_no_fault_marker(clients: AwsClients) -> None:
    store = SsmLeaseStore(clients, "/hanbit-drill", "todo-api", REGION)
    TargetLease(store, "staging", "20250615-120000/lambda-failure").acquire()
    with pytest.raises(LeaseHeldError, match=r"held by .*run 20250615-120000/lambda-failure\).*SSM parameter "
                                             r"/hanbit-drill/drill.lease/todo-api \(ap-northeast-2\)"):
        TargetLease(SsmLeaseStore(clients, "/hanbit-drill", "todo-api", REGION), "staging", "other").acquire()
    assert FaultMarkers(clients, "/hanbit-drill", REGION).list("todo-api") == []


def test_an_unreadable_parameter_is_taken_over(clients: AwsClients) -> None:
    clients.call("ssm", "put_parameter", Name="/hanbit-drill/drill.lease/todo-api", Value="mine", Type="String")
    taken = TargetLease(SsmLeaseStore(clients, "/hanbit-drill", "todo-api", REGION), "staging", "run").acquire()
    assert taken is not None and taken.owner == "unknown"


def test_the_name_is_checked_against_ssms_rules() -> None:
    with pytest.raises(AwsLimitError, match="lease parameter"):
        lease_parameter("/hanbit-drill", "todo api")
