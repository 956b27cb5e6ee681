"""SQLite specifics: the change log, several tables in one file, writers in several processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from service.store import TodoItem, now_ms, validate_table_name
from service.store.sqlite import SqliteTodoStore


def _item(todo_id: str, title: str = "t") -> TodoItem:
    ts = now_ms()
    return TodoItem(todo_id, title, False, None, "high", ts, ts)


def _changes(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT seq, ts, table_name, op, user_id, todo_id, image FROM changes ORDER BY seq"
        ).fetchall()


def test_every_write_is_in_the_change_log(tmp_path) -> None:
    store = SqliteTodoStore(tmp_path / "todos.db")
    before = now_ms()
    store.create("alice", _item("a", "first"))
    store.create("alice", _item("a", "replayed"))  # idempotent replay: no change
    store.update("alice", "a", title=None, done=True, updated_at=now_ms())
    store.delete("alice", "a")
    after = now_ms()
    log = _changes(tmp_path / "todos.db")
    assert [(c[2], c[3], c[4], c[5]) for c in log] == [
        ("todos", "put", "alice", "a"),
        ("todos", "put", "alice", "a"),
        ("todos", "delete", "alice", "a"),
    ]
    assert all(before - 5 <= c[1] <= after + 5 for c in log)
    assert json.loads(log[0][6])["title"] == "first"
    assert json.loads(log[1][6])["done"] is True
    assert log[2][6] is None
    store.close()


def test_writes_behind_the_store_are_logged_too(tmp_path) -> None:
    store = SqliteTodoStore(tmp_path / "todos.db")
    store.create("alice", _item("a"))
    with sqlite3.connect(tmp_path / "todos.db") as conn:  # what a corruption drill would do
        conn.execute("UPDATE todos SET title = NULL WHERE id = 'a'")
    assert json.loads(_changes(tmp_path / "todos.db")[-1][6])["title"] is None
    damaged = store.get("alice", "a")
    assert damaged is not None and damaged.title is None
    store.close()


def test_tables_in_one_file_are_independent(tmp_path) -> None:
    live = SqliteTodoStore(tmp_path / "todos.db", "todos")
    restored = SqliteTodoStore(tmp_path / "todos.db", "todos-restored")
    live.create("alice", _item("a"))
    assert restored.get("alice", "a") is None
    restored.create("alice", _item("b"))
    tables = {c[2] for c in _changes(tmp_path / "todos.db")}
    assert tables == {"todos", "todos-restored"}
    live.close()
    restored.close()


@pytest.mark.parametrize("name", ["ab", "todos;drop", 'x"y', "a" * 256, "tab le"])
def test_bad_table_names_are_refused(tmp_path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        validate_table_name(name)
    with pytest.raises(ValueError):
        SqliteTodoStore(tmp_path / "todos.db", name)


def _writer(path: str, user: str, count: int) -> None:
    store = SqliteTodoStore(path)
    for i in range(count):
        store.create(user, _item(f"{user}-{i:04d}"))
        store.update(user, f"{user}-{i:04d}", title="done", done=True, updated_at=now_ms())
    store.close()


def test_concurrent_writer_processes_lose_nothing(tmp_path) -> None:
    path = tmp_path / "todos.db"
    SqliteTodoStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), f"u{n}", 150)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    store = SqliteTodoStore(path)
    for n in range(3):
        page = store.list(f"u{n}", limit=100, after=None, done=True)
        total = len(page.items)
        while page.last_key:
            page = store.list(f"u{n}", limit=100, after=page.last_key, done=True)
            total += len(page.items)
        assert total == 150
    assert len(_changes(path)) == 3 * 150 * 2
    store.close()


def _hold_gate(path: str, held, release) -> None:
    from service.store.sqlite import WriteGate

    gate = WriteGate(path)
    with gate:
        held.set()
        release.wait(30)


def test_writers_in_other_processes_wait_for_the_write_gate(tmp_path) -> None:
    import threading

    path = tmp_path / "todos.db"
    store = SqliteTodoStore(path)
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_gate, args=(str(path), held, release))
    holder.start()
    try:
        assert held.wait(60)
        done = threading.Event()
        writer = threading.Thread(target=lambda: (store.create("alice", _item("a")), done.set()))
        writer.start()
        assert not done.wait(0.5)  # blocked behind the other process's gate
        release.set()
        assert done.wait(30)
        writer.join()
    finally:
        release.set()
        holder.join(30)
    assert store.get("alice", "a") is not None
    store.close()


def test_the_wal_is_checkpointed_in_the_background(tmp_path) -> None:
    import time

    path = tmp_path / "todos.db"
    store = SqliteTodoStore(path)
    # the request connections never checkpoint themselves (no fsync on a request's commit)...
    assert store._conn().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    size_before = path.stat().st_size
    for i in range(300):
        store.create("alice", _item(f"t{i:04d}", "x" * 200))
    # ...so pages reach the database file only through the background checkpointer
    deadline = time.time() + 20
    while path.stat().st_size == size_before and time.time() < deadline:
        time.sleep(0.1)
    assert path.stat().st_size > size_before
    store.close()
    from service.store.sqlite import Checkpointer

    assert path.resolve() not in Checkpointer._running  # stopped with its last store


def test_the_wal_is_truncated_under_steady_reads_and_writes(tmp_path) -> None:
    """Passive checkpoints alone never restart a WAL that is always being read and written."""
    import threading

    from service.store.sqlite import Checkpointer

    path = tmp_path / "todos.db"
    store = SqliteTodoStore(path)
    wal = path.with_name("todos.db-wal")
    checkpointer = Checkpointer(path.resolve(), 0.02, truncate_at_bytes=256 * 1024)
    checkpointer.start()
    reading = threading.Event()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            store.list("alice", limit=20, after=None, done=None)
            reading.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        reading.wait(10)
        sizes = []
        for i in range(3000):
            store.create("alice", _item(f"t{i:05d}", "x" * 200))
            if i % 100 == 0:
                sizes.append(wal.stat().st_size)
    finally:
        done.set()
        thread.join(10)
        checkpointer.stop()
    assert checkpointer.truncations >= 1
    assert min(sizes[5:]) < 256 * 1024 * 2  # it kept coming back down, not growing with the writes
    assert len(store.list("alice", limit=100, after="t02899", done=None).items) == 100  # nothing lost
    store.close()
