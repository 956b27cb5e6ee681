"""Game day on AWS: the operator's rollback seen in the alias's state (moto)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from chaos.actions import ActionCall
from chaos.aws import operator_observe
from chaos.provider import InjectedFault, RemediationContext

BAD = ActionCall(name="lambda.deploy-bad-version")
ROLLBACK = ActionCall(name="lambda.rollback")


def _context(undo: dict) -> RemediationContext:
    return RemediationContext(fault_at=time.time(), faults=(InjectedFault("bad-deploy", BAD.name, undo),))


@pytest.fixture
def no_cloudtrail(monkeypatch):
    # moto has no CloudTrail LookupEvents; its parsing is tested with botocore's Stubber below.
    monkeypatch.setattr(operator_observe, "_update_alias_event", lambda ctx, alias, since: (None, None))


def test_nothing_is_seen_while_live_still_serves_the_bad_version(stack, no_cloudtrail) -> None:
    provider = stack.provider()
    undo = provider.inject(BAD)
    assert provider.observe(ROLLBACK, time.time() - 60, _context(undo)) is None


def test_the_runbooks_rollback_matches_and_another_version_does_not(stack, no_cloudtrail) -> None:
    provider = stack.provider()
    undo = provider.inject(BAD)
    lam = stack.client("lambda")
    lam.update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion="1")
    wrong = provider.observe(ROLLBACK, time.time() - 60, _context(undo))
    assert wrong is not None and not wrong.matches_runbook
    assert "previous good version is 2" in wrong.detail
    lam.update_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion=undo["alias_version"])
    seen = provider.observe(ROLLBACK, time.time() - 60, _context(undo))
    assert seen is not None and seen.matches_runbook and seen.detail == "LIVE at version 2"


def test_steps_aws_cannot_show_are_not_observed(stack, no_cloudtrail) -> None:
    provider = stack.provider()
    assert provider.observe(ActionCall(name="table.restore"), time.time(), _context({})) is None
    assert "table.restore" not in provider.observable_actions


class _Clients:
    def __init__(self, client) -> None:
        self._client = client

    def client(self, service: str):
        return self._client


class _Ctx:
    def __init__(self, client) -> None:
        self.clients = _Clients(client)
        self.target = type("T", (), {"function": "todo-api"})()


def test_cloudtrail_says_who_rolled_back_and_when() -> None:
    client = boto3.client("cloudtrail", region_name="ap-northeast-2")
    at = datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC)
    event = {"requestParameters": {"functionName": "todo-api", "name": "LIVE", "functionVersion": "2"}}
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": [
            {"EventName": "UpdateAlias20150331", "EventTime": at, "Username": "oncall-kim",
             "CloudTrailEvent": json.dumps(event)}]})
        when, who = operator_observe._update_alias_event(_Ctx(client), "LIVE", at.timestamp() - 60)
    assert (when, who) == (at.timestamp(), "oncall-kim")
