"""The target's own detection alarms: when each went to ALARM, read from CloudWatch's alarm history.

A drill on a real stack is detected when the team's alarm pages, not when the harness's model says
it would. The alarms are named by the target (`AwsTarget.alarm_names`); for each, DescribeAlarmHistory
(HistoryItemType=StateUpdate, oldest first from the fault on) gives its state changes, and the first
one into ALARM is the alarm time. Read-only: cloudwatch:DescribeAlarmHistory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from chaos.aws.clients import AwsClients

PAGE = 100  # DescribeAlarmHistory's largest page


class AlarmHistory:
    """Reads the state changes of named CloudWatch alarms in one region."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self.clients = clients
        self.region = region

    def alarm_times(self, names: Sequence[str], since: float) -> dict[str, float | None]:
        """Each alarm's first change into ALARM at or after `since` (epoch s), None if it has not gone there."""
        return {name: self.first_alarm(name, since) for name in names}

    def first_alarm(self, name: str, since: float) -> float | None:
        for item in self._state_updates(name, since):
            at = item["Timestamp"].timestamp()
            if at >= since and went_to_alarm(item):
                return at
        return None

    def _state_updates(self, name: str, since: float) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "AlarmName": name,
            "HistoryItemType": "StateUpdate",
            "StartDate": datetime.fromtimestamp(since, tz=timezone.utc),
            "ScanBy": "TimestampAscending",  # the first transition is on the first page
            "MaxRecords": PAGE,
        }
        while True:
            page = self.clients.call("cloudwatch", "describe_alarm_history", self.region, **params) or {}
            yield from page.get("AlarmHistoryItems", [])
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token


def went_to_alarm(item: dict[str, Any]) -> bool:
    """Whether a StateUpdate history item is a change into ALARM (HistoryData's newState, else the summary)."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        state = data.get("newState", {}).get("stateValue")
    except (ValueError, AttributeError):
        state = None
    if state is not None:
        return state == "ALARM"
    return str(item.get("HistorySummary", "")).endswith(" to ALARM")  # "Alarm updated from OK to ALARM"
