"""Table throttling: read/write capacity per second shared by every worker of a region.

Each limit is a token bucket in a 16-byte file (tokens, last refill on the system-wide
monotonic clock), updated under an fcntl lock, so N worker processes together admit
at most the capacity, as one DynamoDB table would. A store call that finds no token
raises `StoreThrottled`, which the handler answers 503 ProvisionedThroughputExceededException.
Without a limit the store is called directly: a None check is all it costs.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import time
from pathlib import Path

from service.store.base import StoreThrottled, TodoItem, TodoPage, TodoStore

_STATE = struct.Struct("dd")  # tokens, last refill (CLOCK_MONOTONIC seconds)


class SharedTokenBucket:
    """`rate` tokens per second, holding at most one second's worth."""

    def __init__(self, path: Path, rate: int) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.path = Path(path)
        self.rate = float(rate)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _STATE.size:
            os.ftruncate(self._fd, _STATE.size)
        self._map = mmap.mmap(self._fd, _STATE.size)

    def take(self, amount: float = 1.0) -> bool:
        """Consume `amount` if the bucket holds it. False: over capacity."""
        if self.rate <= 0:
            return False
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            tokens, last = _STATE.unpack_from(self._map)
            now = time.monotonic()
            if last <= 0 or now < last:  # a fresh file, or one from before a reboot
                tokens, last = self.rate, now
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            ok = tokens >= amount
            if ok:
                tokens -= amount
            _STATE.pack_into(self._map, 0, tokens, now)
            return ok
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            self._map.close()
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:  # a bucket replaced by a new limit is closed once no request holds it
        try:
            self.close()
        except (OSError, ValueError, AttributeError):
            pass


class TableGate:
    """The current limits of one table; swapped by the control state listener."""

    __slots__ = ("read", "write")

    def __init__(self) -> None:
        self.read: SharedTokenBucket | None = None
        self.write: SharedTokenBucket | None = None


class ThrottledStore:
    """A TodoStore that asks the table's gate before each read or write."""

    def __init__(self, store: TodoStore, gate: TableGate) -> None:
        self._store = store
        self._gate = gate
        self.kind = store.kind
        self.table = store.table
        self.blocking = store.blocking

    def _read(self) -> None:
        bucket = self._gate.read
        if bucket is not None and not bucket.take():
            raise StoreThrottled(f"read capacity of table {self.table} exceeded ({bucket.rate:g}/s)")

    def _write(self) -> None:
        bucket = self._gate.write
        if bucket is not None and not bucket.take():
            raise StoreThrottled(f"write capacity of table {self.table} exceeded ({bucket.rate:g}/s)")

    def get(self, user_id: str, todo_id: str) -> TodoItem | None:
        self._read()
        return self._store.get(user_id, todo_id)

    def create(self, user_id: str, item: TodoItem) -> tuple[TodoItem, bool]:
        self._write()
        return self._store.create(user_id, item)

    def update(self, user_id: str, todo_id: str, *, title: str | None, done: bool | None,
               updated_at: int) -> TodoItem | None:
        self._write()
        return self._store.update(user_id, todo_id, title=title, done=done, updated_at=updated_at)

    def delete(self, user_id: str, todo_id: str) -> bool:
        self._write()
        return self._store.delete(user_id, todo_id)

    def list(self, user_id: str, *, limit: int, after: str | None, done: bool | None) -> TodoPage:
        self._read()
        return self._store.list(user_id, limit=limit, after=after, done=done)

    def ping(self) -> None:
        self._store.ping()  # health checks are not table traffic

    def close(self) -> None:
        self._store.close()


class TableGates:
    """Every table's gate in one region, kept in line with the control state's throttles."""

    def __init__(self, buckets_dir: Path) -> None:
        self.dir = Path(buckets_dir)
        self._gates: dict[str, TableGate] = {}
        self._limits: dict[str, tuple[int | None, int | None]] = {}

    def gate(self, table: str) -> TableGate:
        gate = self._gates.get(table)
        if gate is None:
            gate = self._gates[table] = TableGate()
            self._apply(table, gate, self._limits.get(table, (None, None)))
        return gate

    def wrap(self, store: TodoStore) -> ThrottledStore:
        return ThrottledStore(store, self.gate(store.table))

    def set_limits(self, limits: dict[str, tuple[int | None, int | None]]) -> None:
        """table -> (read capacity, write capacity); tables not named are unlimited."""
        self._limits = dict(limits)
        for table, gate in self._gates.items():
            self._apply(table, gate, self._limits.get(table, (None, None)))

    def _apply(self, table: str, gate: TableGate, limits: tuple[int | None, int | None]) -> None:
        gate.read = self._bucket(gate.read, table, "read", limits[0])
        gate.write = self._bucket(gate.write, table, "write", limits[1])

    def _bucket(self, current: SharedTokenBucket | None, table: str, kind: str,
                rate: int | None) -> SharedTokenBucket | None:
        if current is not None and rate is not None and current.rate == rate:
            return current
        if rate is None:
            return None  # an old bucket still held by a request in flight closes when released
        return SharedTokenBucket(self.dir / f"{table}.{kind}", rate)
