"""table.corrupt touches only the drill's tagged items and puts them back, under moto."""

from __future__ import annotations

import random

import pytest

from chaos.actions import ActionCall
from chaos.aws.table_corruption import GARBLE_PREFIX, TableCorruption
from common.errors import ProviderError

CORRUPT = ActionCall(name="table.corrupt", params={"fraction": 0.5})


def corrupted(stack, provider, call=CORRUPT, seed: int = 7):
    provider._handlers[call.name] = TableCorruption(provider.ctx, random.Random(seed))
    return provider.inject(call)


def test_only_tagged_items_are_corrupted_in_every_mode(stack) -> None:
    tagged = {i["id"]["S"]: i for i in stack.put_items(12)}
    users = {i["id"]["S"]: i for i in stack.put_items(6, tagged=False, prefix="real")}
    undo = corrupted(stack, stack.provider())
    assert len(undo["items"]) == 6 and undo["tagged"] == 12
    assert {p["mode"] for p in undo["items"]} == {"garble", "drop-attribute", "delete"}
    now = stack.items()
    for key, item in users.items():
        assert now[key] == item  # a real user's item is never touched
    changed = {k for k, item in tagged.items() if now.get(k) != item}
    assert len(changed) == 6
    deleted = [k for k in changed if k not in now]
    dropped = [k for k in changed if k in now and "title" not in now[k]]
    garbled = [k for k in changed if k in now and now[k].get("title", {}).get("S", "").startswith(GARBLE_PREFIX)]
    assert len(deleted) == len(garbled) == len(dropped) == 2
    assert all(now[k]["hanbit-drill"] == tagged[k]["hanbit-drill"] for k in garbled + dropped)


def test_revert_puts_every_item_back_and_twice_is_fine(stack) -> None:
    originals = {i["id"]["S"]: i for i in stack.put_items(9)}
    provider = stack.provider()
    undo = corrupted(stack, provider)
    provider.revert(CORRUPT, undo)
    assert stack.items() == originals  # binary attributes included
    assert stack.markers() == []
    provider.revert(CORRUPT, undo)
    assert stack.items() == originals


def test_revert_never_overwrites_an_item_changed_after_the_fault(stack) -> None:
    stack.put_items(6)
    provider = stack.provider()
    undo = corrupted(stack, provider, ActionCall(name="table.corrupt", params={"fraction": 1.0, "modes": ["garble"]}))
    ddb = stack.client("dynamodb")
    rewritten = undo["items"][0]["original"]
    key = {"user_id": rewritten["user_id"], "id": rewritten["id"]}
    ddb.update_item(
        TableName="todos",
        Key=key,
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": {"S": "edited by a user after the fault"}},
    )
    provider.revert(ActionCall(name="table.corrupt", params={"fraction": 1.0, "modes": ["garble"]}), undo)
    now = stack.items()
    assert now[rewritten["id"]["S"]]["title"]["S"] == "edited by a user after the fault"
    assert not any(i["title"]["S"].startswith(GARBLE_PREFIX) for i in now.values())
    assert all(i["priority"]["S"] == "normal" for i in now.values())


def test_nothing_tagged_is_a_clear_error(stack) -> None:
    stack.put_items(3, tagged=False)
    with pytest.raises(ProviderError, match="no item of table todos carries the drill tag attribute 'hanbit-drill'"):
        stack.provider().inject(CORRUPT)
    assert stack.markers() == []


def test_a_large_corruption_keeps_only_a_summary_in_ssm(stack) -> None:
    stack.put_items(40)
    provider = stack.provider()
    call = ActionCall(name="table.corrupt", params={"fraction": 1.0, "modes": ["garble"]})
    corrupted(stack, provider, call)
    with pytest.raises(ProviderError, match="40 corrupted items of todos cannot be put back without the journal"):
        stack.provider().revert(call, {})


def test_a_write_refused_mid_way_puts_back_what_was_already_altered(stack, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    originals = {i["id"]["S"]: i for i in stack.put_items(6)}
    provider = stack.provider()
    ddb = provider.clients.client("dynamodb", stack.PRIMARY)
    real = ddb.update_item
    writes = []

    def flaky(**params):
        writes.append(params)
        if len(writes) == 3:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try again"}}, "UpdateItem")
        return real(**params)

    monkeypatch.setattr(ddb, "update_item", flaky)
    call = ActionCall(name="table.corrupt", params={"fraction": 1.0, "modes": ["garble"]})
    with pytest.raises(ProviderError, match="dynamodb:UpdateItem failed: InternalServerError"):
        corrupted(stack, provider, call)
    monkeypatch.setattr(ddb, "update_item", real)
    assert stack.items() == originals
    assert stack.markers() == []
