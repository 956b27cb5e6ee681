"""The memoised JSON of items: same content, same text; any change, new text; never a stale read."""

from __future__ import annotations

import orjson

from service.api.todos import item_json
from service.store.base import TodoItem

_ITEM = TodoItem("t-1", "buy milk", False, "2030-01-31", "normal", 1_700_000_000_123, 1_700_000_000_456)


def test_text_is_the_items_api_shape() -> None:
    assert orjson.loads(item_json(_ITEM)) == {
        "id": "t-1", "title": "buy milk", "done": False, "due": "2030-01-31", "priority": "normal",
        "created_at": "2023-11-14T22:13:20.123Z", "updated_at": "2023-11-14T22:13:20.456Z",
    }
    assert item_json(TodoItem(*_ITEM)) == item_json(_ITEM)


def test_a_changed_row_is_a_new_key() -> None:
    before = item_json(_ITEM)
    garbled = _ITEM._replace(title="\x00garbled\x00")
    assert orjson.loads(item_json(garbled))["title"] == "\x00garbled\x00"
    assert item_json(_ITEM._replace(done=True)) != before
    assert orjson.loads(item_json(_ITEM._replace(title=None, priority=None)))["title"] is None
    assert item_json(_ITEM) == before


def test_an_unhashable_damaged_item_is_formatted_without_the_memo() -> None:
    damaged = _ITEM._replace(title=["not", "a", "string"])
    assert orjson.loads(item_json(damaged))["title"] == ["not", "a", "string"]
