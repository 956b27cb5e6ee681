"""Replication between two real SQLite region databases: both ways, last writer wins, pending counts."""

from __future__ import annotations

import time

import pytest

from service.regions.replicator import Replicator
from service.store.base import TodoItem, now_ms
from service.store.sqlite import SqliteTodoStore
from service.table.catalog import TableCatalog

A, B = "ap-northeast-2", "ap-northeast-1"


def _item(todo_id: str, title: str) -> TodoItem:
    t = now_ms()
    return TodoItem(todo_id, title, False, None, "normal", t, t)


@pytest.fixture
def pair(tmp_path):
    paths = {A: tmp_path / "a" / "todos.db", B: tmp_path / "b" / "todos.db"}
    stores = {name: SqliteTodoStore(path) for name, path in paths.items()}
    down: set[str] = set()
    paused = [False]
    replicator = Replicator(paths, is_down=lambda r: r in down, is_paused=lambda: paused[0])
    yield stores, replicator, down, paused, paths
    replicator.stop()
    for store in stores.values():
        store.close()


def _titles(store: SqliteTodoStore) -> dict[str, str | None]:
    return {i.id: i.title for i in store.list("u", limit=100, after=None, done=None).items}


def test_writes_flow_both_ways_and_never_echo(pair):
    stores, replicator, *_ = pair
    stores[A].create("u", _item("a1", "from a"))
    stores[B].create("u", _item("b1", "from b"))
    replicator.sync()
    assert _titles(stores[A]) == _titles(stores[B]) == {"a1": "from a", "b1": "from b"}
    applied = dict(replicator.stats.items())
    assert applied[(A, B)].applied == 1 and applied[(B, A)].applied == 1
    replicator.sync()  # nothing new: an applied change is not shipped back
    assert replicator.stats[(A, B)].applied == 1 and replicator.stats[(B, A)].applied == 1
    stores[A].update("u", "b1", title="edited in a", done=True, updated_at=now_ms())
    stores[B].delete("u", "a1")
    replicator.sync()
    assert _titles(stores[A]) == _titles(stores[B]) == {"b1": "edited in a"}
    assert stores[B].get("u", "b1").done is True


def test_concurrent_writes_converge_on_the_last_writer(pair):
    stores, replicator, _, paused, _ = pair
    stores[A].create("u", _item("x", "v0"))
    replicator.sync()
    paused[0] = True
    stores[A].update("u", "x", title="older, from a", done=None, updated_at=now_ms())
    time.sleep(0.01)
    stores[B].update("u", "x", title="newer, from b", done=None, updated_at=now_ms())
    replicator.sync()
    assert stores[A].get("u", "x").title == "older, from a"  # paused: nothing moved
    paused[0] = False
    replicator.sync()
    assert stores[A].get("u", "x").title == stores[B].get("u", "x").title == "newer, from b"
    assert replicator.stats[(A, B)].superseded == 1


def test_a_down_region_is_not_touched_and_its_unshipped_writes_are_counted(pair):
    stores, replicator, down, *_ = pair
    for i in range(5):
        stores[A].create("u", _item(f"s{i}", "stranded"))
    down.add(A)
    replicator.sync()
    assert _titles(stores[B]) == {}
    metrics = replicator.metrics()
    assert metrics["pending"][f"{A}->{B}"] == 5
    assert metrics["lag_ms"][f"{A}->{B}"] > 0
    stores[B].create("u", _item("during", "written in b during the outage"))
    replicator.sync()
    assert "during" not in _titles(stores[A])  # a down region takes no writes either
    down.clear()
    replicator.sync()
    assert set(_titles(stores[A])) == set(_titles(stores[B])) == {"during", *(f"s{i}" for i in range(5))}
    assert replicator.metrics()["pending"] == {f"{A}->{B}": 0, f"{B}->{A}": 0}


def test_only_tables_present_in_both_regions_replicate(pair):
    _stores, replicator, _, _, paths = pair
    TableCatalog(paths[A]).create("todos-restored")
    regional = SqliteTodoStore(paths[A], "todos-restored", create=False)
    regional.create("u", _item("r1", "regional"))
    regional.close()
    replicator.sync()
    assert TableCatalog(paths[B]).names() == ["todos"]
    assert replicator.stats[(A, B)].skipped == 1


def test_progress_survives_a_restart(pair):
    stores, replicator, _down, _paused, paths = pair
    stores[A].create("u", _item("k1", "one"))
    replicator.sync()
    replicator.stop()
    again = Replicator(paths, is_down=lambda r: False, is_paused=lambda: False)
    try:
        stores[A].create("u", _item("k2", "two"))
        again.sync()
        assert again.stats[(A, B)].applied == 1  # only the new write, nothing repeated
        assert again.stats[(B, A)].applied == 0  # and nothing echoed back
        assert set(_titles(stores[B])) == {"k1", "k2"}
    finally:
        again.stop()


def test_background_thread_replicates_within_a_few_intervals(pair):
    stores, replicator, *_ = pair
    replicator.start()
    stores[A].create("u", _item("bg", "background"))
    deadline = time.monotonic() + 5
    while "bg" not in _titles(stores[B]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "bg" in _titles(stores[B])
