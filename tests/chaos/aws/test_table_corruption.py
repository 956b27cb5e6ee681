"""table.corrupt alters only the items the drill's own load created (ids with the run's prefix) and puts
them back, under moto."""

from __future__ import annotations

import random

import pytest

from chaos.actions import ActionCall
from chaos.aws.table_corruption import GARBLE_PREFIX, TableCorruption
from common.errors import PreflightError, ProviderError

RUN_PREFIX = "3fa2b1c0-"  # the conftest stack's items of the drill's own load


def corrupt(fraction: float = 0.5, **params) -> ActionCall:
    return ActionCall(name="table.corrupt", params={"fraction": fraction, "id_prefix": RUN_PREFIX, **params})


CORRUPT = corrupt()


def corrupted(stack, provider, call=CORRUPT, seed: int = 7):
    provider._handlers[call.name] = TableCorruption(provider.ctx, random.Random(seed))
    return provider.inject(call)


def test_the_loads_own_items_are_corrupted_in_every_mode_and_nobody_elses(stack) -> None:
    # What the load writes: client ids with the run's prefix and no other mark (nothing writes a tag attribute).
    assert stack.RUN_PREFIX == RUN_PREFIX
    own = {i["todoId"]["S"]: i for i in stack.put_items(12)}
    others = {i["todoId"]["S"]: i for i in stack.put_items(6, prefix="3fa2b1c1-")}  # another run, one digit apart
    users = {i["todoId"]["S"]: i for i in stack.put_items(6, prefix="real-")}
    undo = corrupted(stack, stack.provider())
    assert len(undo["items"]) == 6 and undo["candidates"] == 12 and undo["id_prefix"] == RUN_PREFIX
    assert {p["mode"] for p in undo["items"]} == {"garble", "drop-attribute", "delete"}
    now = stack.items()
    for key, item in {**others, **users}.items():
        assert now[key] == item  # anyone else's item is never touched
    changed = {k for k, item in own.items() if now.get(k) != item}
    assert len(changed) == 6
    deleted = [k for k in changed if k not in now]
    dropped = [k for k in changed if k in now and "title" not in now[k]]
    garbled = [k for k in changed if k in now and now[k].get("title", {}).get("S", "").startswith(GARBLE_PREFIX)]
    assert len(deleted) == len(garbled) == len(dropped) == 2
    writes = [c for c in stack.providers[0].clients.calls if c.api in ("dynamodb:UpdateItem", "dynamodb:DeleteItem")]
    assert writes and all(
        w.params["ConditionExpression"] == "begins_with(#id, :prefix)"
        and w.params["ExpressionAttributeValues"][":prefix"] == {"S": RUN_PREFIX}
        for w in writes
    )


def test_revert_puts_every_item_back_and_twice_is_fine(stack) -> None:
    originals = {i["todoId"]["S"]: i for i in stack.put_items(12)}
    provider = stack.provider()
    undo = corrupted(stack, provider)
    provider.revert(CORRUPT, undo)
    assert stack.items() == originals  # binary attributes included
    assert stack.markers() == []
    provider.revert(CORRUPT, undo)
    assert stack.items() == originals


def test_revert_never_overwrites_an_item_changed_after_the_fault(stack) -> None:
    stack.put_items(10)
    provider = stack.provider()
    call = corrupt(1.0, modes=["garble"])
    undo = corrupted(stack, provider, call)
    rewritten = undo["items"][0]["original"]
    stack.client("dynamodb").update_item(
        TableName="todos",
        Key={"userId": rewritten["userId"], "todoId": rewritten["todoId"]},
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": {"S": "edited by a user after the fault"}},
    )
    provider.revert(call, undo)
    now = stack.items()
    assert now[rewritten["todoId"]["S"]]["title"]["S"] == "edited by a user after the fault"
    assert not any(i["title"]["S"].startswith(GARBLE_PREFIX) for i in now.values())
    assert all(i["priority"]["S"] == "normal" for i in now.values())


def test_too_few_of_the_loads_items_is_a_preflight_error_and_nothing_is_touched(stack) -> None:
    stack.put_items(4)
    stack.put_items(30, prefix="real-")
    before = stack.items()
    provider = stack.provider()
    with pytest.raises(
        PreflightError, match=r"only 4 item\(s\) of table todos have a todoId beginning with '3fa2b1c0-'"
    ):
        provider.inject(CORRUPT)
    assert stack.items() == before and stack.markers() == []
    assert not [c for c in provider.clients.calls if c.api in ("dynamodb:UpdateItem", "dynamodb:DeleteItem")]


def test_without_the_loads_prefix_nothing_is_touched(stack) -> None:
    stack.put_items(12)
    before = stack.items()
    with pytest.raises(PreflightError, match="needs the id prefix of its load"):
        stack.provider().inject(ActionCall(name="table.corrupt", params={"fraction": 0.5}))
    assert stack.items() == before and stack.markers() == []


def test_preflight_checks_the_id_attribute_is_a_key_of_the_table(stack) -> None:
    assert stack.provider().preflight([CORRUPT]) == []
    problems = stack.provider(item_id_attribute="id").preflight([CORRUPT])
    assert problems == [
        "table.corrupt: item_id_attribute 'id' is not a key of table todos (keys: userId, todoId); set it to the "
        "attribute holding the client-chosen todo id"
    ]


def test_the_plan_shows_the_selection_by_prefix(stack) -> None:
    lines = "\n".join(stack.provider().plan(ActionCall(name="table.corrupt", params={"fraction": 0.2})))
    assert (
        'dynamodb:Scan TableName=todos FilterExpression="begins_with(todoId, <the drill load\'s id prefix>)"' in lines
    )
    assert "unless at least 10 such items exist after the baseline" in lines


def test_a_large_corruption_keeps_only_a_summary_in_ssm(stack) -> None:
    stack.put_items(40)
    provider = stack.provider()
    call = corrupt(1.0, modes=["garble"])
    corrupted(stack, provider, call)
    with pytest.raises(ProviderError, match="40 corrupted items of todos cannot be put back without the journal"):
        stack.provider().revert(call, {})


def test_a_write_refused_mid_way_puts_back_what_was_already_altered(stack, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    originals = {i["todoId"]["S"]: i for i in stack.put_items(10)}
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
    call = corrupt(1.0, modes=["garble"])
    with pytest.raises(ProviderError, match="dynamodb:UpdateItem failed: InternalServerError"):
        corrupted(stack, provider, call)
    monkeypatch.setattr(ddb, "update_item", real)
    assert stack.items() == originals
    assert stack.markers() == []
