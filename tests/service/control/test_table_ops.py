"""Table operations on a real SQLite database: backups, restores, PITR, corruption, throttling."""

from __future__ import annotations

import random
import time

import pytest

from service.control.errors import BadRequest, Conflict, NotFound
from service.store.base import StoreThrottled, TodoItem, now_ms
from service.store.sqlite import SqliteTodoStore
from service.table.backups import BackupStore
from service.table.catalog import TableCatalog
from service.table.corruption import TableCorruptor
from service.table.pitr import PointInTimeRestore
from service.table.throttle import SharedTokenBucket, TableGates


def _item(i: int, title: str | None = None) -> TodoItem:
    t = now_ms()
    return TodoItem(f"id-{i:04d}", title or f"todo {i}", False, None, "normal", t, t)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "todos.db"
    store = SqliteTodoStore(path, "todos")
    for i in range(20):
        store.create("alice", _item(i))
    yield path, store
    store.close()


def _titles(store: SqliteTodoStore, user: str = "alice") -> dict[str, str | None]:
    return {i.id: i.title for i in store.list(user, limit=100, after=None, done=None).items}


def test_catalog_lists_only_todo_tables(db):
    path, _ = db
    catalog = TableCatalog(path)
    assert [(t.name, t.items) for t in catalog.tables()] == [("todos", 20)]
    catalog.create("todos-restored")
    assert catalog.names() == ["todos", "todos-restored"]
    with pytest.raises(Conflict):
        catalog.create("todos")
    with pytest.raises(BadRequest):
        catalog.create("a b")
    catalog.drop("todos-restored")
    with pytest.raises(NotFound):
        catalog.drop("todos-restored")


def test_backup_holds_the_table_as_of_its_time_and_restores_into_a_new_table(db, tmp_path):
    path, store = db
    backups = BackupStore(path, tmp_path / "backups")
    info = backups.create("todos")
    assert info.name.startswith("todos-backup-") and len(info.name) == len("todos-backup-YYYYMMDD-HHMMSS")
    assert info.items == 20
    second = backups.create("todos")  # same second: both kept under distinct names
    assert second.name != info.name
    store.update("alice", "id-0001", title="changed after the backup", done=None, updated_at=now_ms())
    store.delete("alice", "id-0002")
    store.create("alice", _item(99))
    assert [b.name for b in backups.list()] == [info.name, second.name]
    assert backups.restore(info.name, "todos-restored") == 20
    restored = SqliteTodoStore(path, "todos-restored", create=False)
    try:
        titles = _titles(restored)
        assert titles["id-0001"] == "todo 1" and "id-0002" in titles and "id-0099" not in titles
    finally:
        restored.close()
    with pytest.raises(Conflict):
        backups.restore(info.name, "todos-restored")
    with pytest.raises(NotFound):
        backups.restore("todos-backup-nope", "x-restored")


def test_point_in_time_restore_rebuilds_the_table_at_a_timestamp(db):
    path, store = db
    time.sleep(0.02)
    mark = time.time()
    time.sleep(0.02)
    store.update("alice", "id-0003", title="after the mark", done=True, updated_at=now_ms())
    store.delete("alice", "id-0004")
    store.create("alice", _item(50))
    pitr = PointInTimeRestore(path)
    assert pitr.restore("todos", "todos-pitr", mark) == 20
    restored = SqliteTodoStore(path, "todos-pitr", create=False)
    try:
        titles = _titles(restored)
        assert titles["id-0003"] == "todo 3" and "id-0004" in titles and "id-0050" not in titles
        assert restored.get("alice", "id-0003").done is False
    finally:
        restored.close()
    assert pitr.restore("todos", "todos-now", time.time()) == 20  # 20 - 1 deleted + 1 created
    with pytest.raises(BadRequest):
        pitr.restore("todos", "todos-future", time.time() + 3600)


def test_corruption_alters_rows_and_revert_puts_back_the_exact_originals(db, tmp_path):
    path, store = db
    before = {i.id: i for i in store.list("alice", limit=100, after=None, done=None).items}
    corruptor = TableCorruptor(path, tmp_path / "corruptions")
    record = corruptor.corrupt("todos", 0.6, ["garble", "drop-attribute", "delete"], rng=random.Random(7))
    assert record.items == 12 and record.by_mode == {"garble": 4, "drop-attribute": 4, "delete": 4}
    after = {i.id: i for i in store.list("alice", limit=100, after=None, done=None).items}
    assert len(after) == 16
    changed = [k for k in after if after[k] != before[k]]
    assert len(changed) == 8
    assert any(after[k].title is None for k in changed)
    assert any(isinstance(after[k].created_at, str) for k in changed)  # what the API cannot format
    assert corruptor.revert(record.id) == 12
    assert {i.id: i for i in store.list("alice", limit=100, after=None, done=None).items} == before
    assert corruptor.revert(record.id) == 0  # idempotent
    with pytest.raises(NotFound):
        corruptor.revert("c-0-nope")


def test_corruption_by_id_prefix_touches_only_those_items(db, tmp_path):
    path, store = db
    corruptor = TableCorruptor(path, tmp_path / "c")
    record = corruptor.corrupt("todos", 1.0, ["delete"], id_prefix="id-001")
    assert record.items == 10
    assert sorted(_titles(store)) == [f"id-{i:04d}" for i in range(10)]


def test_shared_bucket_admits_capacity_across_handles(tmp_path):
    a = SharedTokenBucket(tmp_path / "b", 5)
    b = SharedTokenBucket(tmp_path / "b", 5)  # another worker's view of the same bucket
    taken = [a.take() if i % 2 else b.take() for i in range(12)]
    assert taken.count(True) in (5, 6)  # one second's worth (+1 if a refill tick slipped in)
    assert not SharedTokenBucket(tmp_path / "z", 0).take()


def test_gates_throttle_reads_and_writes_separately(db, tmp_path):
    _, store = db
    gates = TableGates(tmp_path / "gates")
    throttled = gates.wrap(store)
    gates.set_limits({"todos": (0, None)})
    with pytest.raises(StoreThrottled):
        throttled.get("alice", "id-0001")
    throttled.create("alice", _item(77))  # writes unlimited
    gates.set_limits({"todos": (None, 0)})
    assert throttled.get("alice", "id-0077") is not None
    with pytest.raises(StoreThrottled):
        throttled.delete("alice", "id-0077")
    gates.set_limits({})
    assert throttled.delete("alice", "id-0077")
