"""SQLite todo store: the embedded default.

One file holds every table (the live `todos`, later e.g. `todos-restored`) and an
append-only `changes` log. Triggers write the log inside the same statement as the
item change, so it costs no extra round trip and also records writes made behind
the store's back (a drill corrupting rows); point-in-time restore and replication
between regions can be rebuilt from it. The log is never pruned, so its rowid `seq`
grows monotonically without AUTOINCREMENT (which would also update sqlite_sequence on
every write). WAL mode lets several worker processes read while one writes; each
thread of a process keeps its own connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from service.store.base import (
    StoreKind,
    StoreUnavailable,
    TodoItem,
    TodoPage,
    validate_table_name,
)

_COLUMNS = "id, title, done, due, priority, created_at, updated_at"
_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
_IMAGE = (
    "json_object('title', NEW.title, 'done', json(CASE WHEN NEW.done THEN 'true' ELSE 'false' END),"
    " 'due', NEW.due, 'priority', NEW.priority, 'created_at', NEW.created_at,"
    " 'updated_at', NEW.updated_at)"
)


def _schema(table: str) -> str:
    q = f'"{table}"'
    log = f"INSERT INTO changes(ts, table_name, op, user_id, todo_id, image) VALUES ({_NOW_MS}, '{table}'"
    return f"""
    CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        table_name TEXT NOT NULL,
        op TEXT NOT NULL,
        user_id TEXT NOT NULL,
        todo_id TEXT NOT NULL,
        image TEXT
    );
    CREATE TABLE IF NOT EXISTS {q} (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        title TEXT,
        done INTEGER,
        due TEXT,
        priority TEXT,
        created_at INTEGER,
        updated_at INTEGER,
        PRIMARY KEY (user_id, id)
    ) WITHOUT ROWID;
    CREATE TRIGGER IF NOT EXISTS "{table}__insert" AFTER INSERT ON {q} BEGIN
        {log}, 'put', NEW.user_id, NEW.id, {_IMAGE});
    END;
    CREATE TRIGGER IF NOT EXISTS "{table}__update" AFTER UPDATE ON {q} BEGIN
        {log}, 'put', NEW.user_id, NEW.id, {_IMAGE});
    END;
    CREATE TRIGGER IF NOT EXISTS "{table}__delete" AFTER DELETE ON {q} BEGIN
        {log}, 'delete', OLD.user_id, OLD.id, NULL);
    END;
    """


def connect(path: Path, *, autocheckpoint: bool = True) -> sqlite3.Connection:
    """A connection tuned for many short statements from several processes.

    `autocheckpoint=False` leaves checkpoints to a `Checkpointer` thread: otherwise the commit
    that crosses the WAL threshold copies pages and fsyncs twice on the caller's thread.
    """
    # isolation_level=None: every statement commits on its own (triggers included), no implicit BEGIN.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
    if not autocheckpoint:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (other writers wait from the first statement) ... COMMIT; ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Checkpointer:
    """One background thread per database file and process: a passive WAL checkpoint every
    `interval_s`. Passive checkpoints never block readers or writers; their fsyncs release the GIL.

    Under steady load a passive checkpoint never catches up with the writers, so SQLite never
    starts the WAL over and the file grows without bound (~9 MB/s at the benchmark's write rate,
    and every read pays for the longer WAL index). Once the WAL passes `truncate_at_bytes` the
    checkpointer backfills it (passive, writers go on), then takes the write gate (writers wait
    on it, not in SQLite's sleeping busy handler), checkpoints the little written meanwhile,
    waits at most `truncate_wait_ms` for readers of older snapshots, and truncates the WAL to
    zero; if readers hold on longer it lets go and tries again. Writers pause for that last
    step (its fsync: ~5-70 ms here), so it is kept rare: 256 MB is ~30 s at the benchmark's
    write rate (700 creates/s) and minutes at a drill's.
    """

    _running: dict[Path, Checkpointer] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path, interval_s: float, truncate_at_bytes: int = 256 * 2**20,
                 truncate_wait_ms: int = 20) -> None:
        self.path = path
        self.interval_s = interval_s
        self.truncate_at_bytes = truncate_at_bytes
        self.truncate_wait_ms = truncate_wait_ms
        self.truncations = 0
        self._wal = path.with_name(path.name + "-wal")
        self._users = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"checkpoint:{path.name}", daemon=True)

    @classmethod
    def acquire(cls, path: Path, interval_s: float = 0.5) -> Checkpointer:
        with cls._registry_lock:
            running = cls._running.get(path)
            if running is None:
                running = cls._running[path] = cls(path, interval_s)
                running.start()
            running._users += 1
            return running

    def release(self) -> None:
        with self._registry_lock:
            self._users -= 1
            if self._users > 0:
                return
            self._running.pop(self.path, None)
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _wal_bytes(self) -> int:
        try:
            return self._wal.stat().st_size
        except FileNotFoundError:
            return 0

    def _truncate(self, conn: sqlite3.Connection, gate: WriteGate) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        with gate:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            self.truncations += 1

    def _run(self) -> None:
        conn = connect(self.path)
        conn.execute(f"PRAGMA busy_timeout = {int(self.truncate_wait_ms)}")
        gate = WriteGate(self.path)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    if self._wal_bytes() >= self.truncate_at_bytes:
                        self._truncate(conn, gate)
                    else:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # e.g. busy: the next round catches up
            with contextlib.suppress(sqlite3.Error):  # a last pass; the next store to open catches up
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
            gate.close()


class ThreadConnections:
    """One connection per thread to one database file (sqlite3 connections are not shared)."""

    def __init__(self, path: Path, *, autocheckpoint: bool = True) -> None:
        self.path = Path(path)
        self._autocheckpoint = autocheckpoint
        self.local = threading.local()  # .conn: this thread's connection, once it has one
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = connect(self.path, autocheckpoint=self._autocheckpoint)
            self.local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self.local = threading.local()


class WriteGate:
    """Serialises this database's writers across threads and worker processes (flock).

    SQLite's own busy handler sleeps 1, 2, 5, ... ms when another process holds the write
    lock, and a sleep on the event loop stalls every request of the worker; a blocked
    flock() wakes the moment the other writer is done.
    """

    def __init__(self, path: Path) -> None:
        self._thread_lock = threading.Lock()
        self._fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        os.close(self._fd)


def create_table(path: Path, table: str) -> None:
    """Create the table, its change triggers and the change log if missing."""
    validate_table_name(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.executescript(_schema(table))
    finally:
        conn.close()


_new_tuple = tuple.__new__


def _item(row: tuple) -> TodoItem:
    # tuple.__new__ directly: TodoItem(...) would run the NamedTuple's Python-level __new__,
    # a second call per row (21 per list page).
    return _new_tuple(TodoItem, (row[0], row[1], bool(row[2]), row[3], row[4], row[5], row[6]))


class SqliteTodoStore:
    kind = StoreKind.SQLITE
    blocking = False

    def __init__(self, path: Path, table: str = "todos", *, create: bool = True) -> None:
        self.path = Path(path)
        self.table = validate_table_name(table)
        if create:
            create_table(self.path, self.table)
        self._checkpointer = Checkpointer.acquire(self.path.resolve())
        self._connections = ThreadConnections(self.path, autocheckpoint=False)
        self._conn = self._connections.get
        self._write_gate = WriteGate(self.path)
        q = f'"{table}"'
        self._sql_get = f"SELECT {_COLUMNS} FROM {q} WHERE user_id = ? AND id = ?"
        self._sql_insert = (
            f"INSERT INTO {q} (user_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, id) DO NOTHING"
        )
        self._sql_update = (
            f"UPDATE {q} SET title = coalesce(?, title), done = coalesce(?, done), updated_at = ?"
            f" WHERE user_id = ? AND id = ? RETURNING {_COLUMNS}"
        )
        self._sql_delete = f"DELETE FROM {q} WHERE user_id = ? AND id = ?"
        self._sql_list = f"SELECT {_COLUMNS} FROM {q} WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        self._sql_list_done = (
            f"SELECT {_COLUMNS} FROM {q} WHERE user_id = ? AND id > ? AND done = ? ORDER BY id LIMIT ?"
        )
        self._sql_ping = f"SELECT 1 FROM {q} LIMIT 1"

    def get(self, user_id: str, todo_id: str) -> TodoItem | None:
        # The thread's connection without a method call: reads are the hot path.
        conn = getattr(self._connections.local, "conn", None) or self._conn()
        row = conn.execute(self._sql_get, (user_id, todo_id)).fetchone()
        return _item(row) if row else None

    def create(self, user_id: str, item: TodoItem) -> tuple[TodoItem, bool]:
        conn = self._conn()
        with self._write_gate:
            cur = conn.execute(
                self._sql_insert,
                (user_id, item.id, item.title, int(item.done), item.due, item.priority,
                 item.created_at, item.updated_at),
            )
        if cur.rowcount == 1:
            return item, True
        existing = self.get(user_id, item.id)
        if existing is None:  # deleted between the two statements: the insert lost to a delete
            return self.create(user_id, item)
        return existing, False

    def update(
        self, user_id: str, todo_id: str, *, title: str | None, done: bool | None, updated_at: int
    ) -> TodoItem | None:
        done_value = None if done is None else int(done)
        conn = self._conn()
        with self._write_gate:
            rows = conn.execute(self._sql_update, (title, done_value, updated_at, user_id, todo_id)).fetchall()
        return _item(rows[0]) if rows else None

    def delete(self, user_id: str, todo_id: str) -> bool:
        conn = self._conn()
        with self._write_gate:
            return conn.execute(self._sql_delete, (user_id, todo_id)).rowcount == 1

    def list(self, user_id: str, *, limit: int, after: str | None, done: bool | None) -> TodoPage:
        # One row more than asked tells whether another page exists.
        conn = getattr(self._connections.local, "conn", None) or self._conn()
        if done is None:
            rows = conn.execute(self._sql_list, (user_id, after or "", limit + 1)).fetchall()
        else:
            rows = conn.execute(
                self._sql_list_done, (user_id, after or "", int(done), limit + 1)
            ).fetchall()
        items = [_item(r) for r in rows[:limit]]
        more = len(rows) > limit
        return TodoPage(items, items[-1].id if more and items else None)

    def ping(self) -> None:
        try:
            self._conn().execute(self._sql_ping).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"table {self.table} in {self.path}: {exc}") from exc

    def close(self) -> None:
        self._connections.close()
        self._write_gate.close()
        self._checkpointer.release()
