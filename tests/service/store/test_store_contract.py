"""One contract, both stores: SQLite for real, DynamoDB under moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.store import StoreKind, TodoItem, TodoStore, new_todo_id, now_ms


def _sqlite(tmp_path) -> Iterator[TodoStore]:
    from service.store.sqlite import SqliteTodoStore

    store = SqliteTodoStore(tmp_path / "todos.db", "todos")
    yield store
    store.close()


def _dynamodb(tmp_path, monkeypatch) -> Iterator[TodoStore]:
    from moto import mock_aws

    from service.store.dynamodb import DynamoTodoStore, create_table, make_client

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = make_client("ap-northeast-2")
        create_table(client, "todos")
        yield DynamoTodoStore("todos", client=client)


@pytest.fixture(params=[StoreKind.SQLITE, StoreKind.DYNAMODB])
def store(request, tmp_path, monkeypatch) -> Iterator[TodoStore]:
    if request.param is StoreKind.SQLITE:
        yield from _sqlite(tmp_path)
    else:
        yield from _dynamodb(tmp_path, monkeypatch)


def _item(title: str = "buy milk", *, todo_id: str | None = None, due: str | None = None) -> TodoItem:
    ts = now_ms()
    return TodoItem(todo_id or new_todo_id(), title, False, due, "normal", ts, ts)


def test_create_then_get_round_trips_every_field(store: TodoStore) -> None:
    item = _item(due="2030-01-02")
    stored, created = store.create("alice", item)
    assert created and stored == item
    assert store.get("alice", item.id) == item


def test_create_is_idempotent_and_keeps_the_first_write(store: TodoStore) -> None:
    first = _item("first", todo_id="client-1")
    store.create("alice", first)
    replay, created = store.create("alice", _item("second", todo_id="client-1"))
    assert not created
    assert replay.title == "first"


def test_items_are_isolated_per_user(store: TodoStore) -> None:
    item = _item(todo_id="shared-id")
    store.create("alice", item)
    assert store.get("bob", "shared-id") is None
    assert store.list("bob", limit=10, after=None, done=None).items == []
    assert store.update("bob", "shared-id", title="x", done=None, updated_at=now_ms()) is None
    assert store.delete("bob", "shared-id") is False
    assert store.get("alice", "shared-id") == item


def test_update_changes_only_given_fields(store: TodoStore) -> None:
    item = _item("old")
    store.create("alice", item)
    later = item.updated_at + 5
    updated = store.update("alice", item.id, title=None, done=True, updated_at=later)
    assert updated is not None
    assert (updated.title, updated.done, updated.updated_at, updated.created_at) == (
        "old", True, later, item.created_at)
    renamed = store.update("alice", item.id, title="new", done=None, updated_at=later + 1)
    assert renamed is not None and (renamed.title, renamed.done) == ("new", True)
    assert store.get("alice", item.id) == renamed


def test_update_and_delete_of_missing_item(store: TodoStore) -> None:
    assert store.update("alice", "nope", title="x", done=None, updated_at=now_ms()) is None
    assert store.delete("alice", "nope") is False


def test_delete_removes_the_item(store: TodoStore) -> None:
    item = _item()
    store.create("alice", item)
    assert store.delete("alice", item.id) is True
    assert store.get("alice", item.id) is None
    assert store.delete("alice", item.id) is False


def test_list_pages_through_everything_in_id_order(store: TodoStore) -> None:
    ids = sorted(f"t{i:03d}" for i in range(23))
    for todo_id in ids:
        store.create("alice", _item(todo_id=todo_id))
    store.create("bob", _item(todo_id="t999"))
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = store.list("alice", limit=10, after=after, done=None)
        seen.extend(i.id for i in page.items)
        pages += 1
        if page.last_key is None:
            break
        after = page.last_key
    assert seen == ids
    assert pages == 3


def test_list_filters_by_done(store: TodoStore) -> None:
    for i in range(12):
        item = _item(todo_id=f"t{i:02d}")
        store.create("alice", item)
        if i % 3 == 0:
            store.update("alice", item.id, title=None, done=True, updated_at=now_ms())
    done_ids: list[str] = []
    after = None
    while True:
        page = store.list("alice", limit=2, after=after, done=True)
        assert all(i.done for i in page.items)
        done_ids.extend(i.id for i in page.items)
        if page.last_key is None:
            break
        after = page.last_key
    assert done_ids == ["t00", "t03", "t06", "t09"]
    open_page = store.list("alice", limit=100, after=None, done=False)
    assert len(open_page.items) == 8 and open_page.last_key is None


def test_ping_answers(store: TodoStore) -> None:
    store.ping()


def test_server_ids_sort_in_creation_order() -> None:
    ids = [new_todo_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(len(i) == 26 for i in ids)
    assert ids == sorted(ids)
