"""The target's own alarms: when each went to ALARM, from DescribeAlarmHistory (played by botocore's Stubber)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
from botocore.stub import Stubber

from chaos.aws.alarm_history import AlarmHistory, went_to_alarm
from chaos.aws.clients import AwsClients
from chaos.aws.provider import AwsProvider
from chaos.targets import AwsTarget

REGION = "ap-northeast-2"
FAULT_AT = 1_700_000_000.0


def at(seconds_after_fault: float) -> datetime:
    return datetime.fromtimestamp(FAULT_AT + seconds_after_fault, tz=timezone.utc)


def item(name: str, after_s: float, old: str, new: str) -> dict:
    return {
        "AlarmName": name,
        "AlarmType": "MetricAlarm",
        "Timestamp": at(after_s),
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps({"version": "1.0", "oldState": {"stateValue": old}, "newState": {"stateValue": new}}),
    }


def request(name: str, token: str | None = None) -> dict:
    params = {"AlarmName": name, "HistoryItemType": "StateUpdate", "StartDate": at(0),
              "ScanBy": "TimestampAscending", "MaxRecords": 100}
    return {**params, "NextToken": token} if token else params


def stubbed(clients: AwsClients) -> Stubber:
    client = boto3.Session(region_name=REGION).client("cloudwatch", region_name=REGION)
    clients.install("cloudwatch", client, REGION)
    return Stubber(client)


def test_first_change_into_alarm_after_the_fault_across_pages() -> None:
    clients = AwsClients(boto3.Session(region_name=REGION), REGION)
    stub = stubbed(clients)
    # error-rate: OK -> INSUFFICIENT_DATA on page 1, -> ALARM at +361 s on page 2, later ALARM again.
    stub.add_response("describe_alarm_history",
                      {"AlarmHistoryItems": [item("errors", 5, "OK", "INSUFFICIENT_DATA")], "NextToken": "p2"},
                      request("errors"))
    stub.add_response("describe_alarm_history",
                      {"AlarmHistoryItems": [item("errors", 361, "INSUFFICIENT_DATA", "ALARM"),
                                             item("errors", 900, "OK", "ALARM")]},
                      request("errors", "p2"))
    # latency: never went to ALARM.
    stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [item("latency", 60, "OK", "OK")]},
                      request("latency"))
    with stub:
        times = AlarmHistory(clients, REGION).alarm_times(["errors", "latency"], FAULT_AT)
    stub.assert_no_pending_responses()
    assert times == {"errors": FAULT_AT + 361, "latency": None}
    assert [c.api for c in clients.calls] == ["cloudwatch:DescribeAlarmHistory"] * 3


def test_the_provider_reads_the_alarms_its_target_names() -> None:
    target = AwsTarget(api_url="https://api.example.com", alarm_names=["todo-api-error-rate"])
    provider = AwsProvider(target, boto3.Session(region_name=REGION))
    stub = stubbed(provider.clients)
    stub.add_response("describe_alarm_history",
                      {"AlarmHistoryItems": [item("todo-api-error-rate", 372.5, "OK", "ALARM")]},
                      request("todo-api-error-rate"))
    with stub:
        assert provider.alarm_times(FAULT_AT) == {"todo-api-error-rate": FAULT_AT + 372.5}
    provider.close()


def test_a_target_without_alarm_names_reads_nothing() -> None:
    provider = AwsProvider(AwsTarget(api_url="https://api.example.com"), boto3.Session(region_name=REGION))
    assert provider.alarm_times(FAULT_AT) == {}
    assert provider.clients.calls == []


def test_a_history_item_without_data_is_read_from_its_summary() -> None:
    assert went_to_alarm({"HistorySummary": "Alarm updated from OK to ALARM"})
    assert not went_to_alarm({"HistorySummary": "Alarm updated from ALARM to OK"})
    assert not went_to_alarm({"HistoryData": "not json", "HistorySummary": "Alarm updated from ALARM to OK"})
