"""Asynchronous replication between the regions' databases, both ways, last writer wins.

Like DynamoDB global tables: each region takes writes locally; the replicator ships
every region's own changes (from the store's `changes` log) to the others, a batch
every `interval_s`. A change is applied only if it is newer than what the destination
holds for that item (commit time in ms; ties go to the alphabetically later region), so
both sides converge. Bookkeeping lives in each database beside the data, written in the
same transaction as the applied rows (`__replica_*` tables), so a restart neither loses
nor repeats anything:
- `__replica_cursor(peer, seq)`: how far this database has consumed each peer's log
  (peer `__local`: its own log, scanned into the version table);
- `__replica_applied(lo, hi)`: seq ranges of this log written by the replicator itself,
  which are never shipped back;
- `__replica_versions`: the commit time of the newest write known per item.
Only tables that exist in both regions replicate (a restored table stays regional).
A region that is down (or replication paused) is neither read nor written; its
unshipped writes are what `pending` and `lag_ms` report.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from service.store.sqlite import connect, immediate_transaction

_log = logging.getLogger("service.regions")
LOCAL = "__local"

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS __replica_cursor (peer TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS __replica_applied (lo INTEGER NOT NULL, hi INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS __replica_versions (
    table_name TEXT NOT NULL, user_id TEXT NOT NULL, todo_id TEXT NOT NULL, ts INTEGER NOT NULL,
    PRIMARY KEY (table_name, user_id, todo_id)) WITHOUT ROWID;
"""
_VERSION = "SELECT ts FROM __replica_versions WHERE table_name = ? AND user_id = ? AND todo_id = ?"
_SET_VERSION = ("INSERT INTO __replica_versions VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET ts = max(ts, excluded.ts)")
_COLUMNS = "user_id, id, title, done, due, priority, created_at, updated_at"
_PUT = (
    "INSERT INTO {q} (" + _COLUMNS + ") VALUES (:user, :todo, json_extract(:image, '$.title'),"
    " json_extract(:image, '$.done'), json_extract(:image, '$.due'), json_extract(:image, '$.priority'),"
    " json_extract(:image, '$.created_at'), json_extract(:image, '$.updated_at'))"
    " ON CONFLICT (user_id, id) DO UPDATE SET title = excluded.title, done = excluded.done, due = excluded.due,"
    " priority = excluded.priority, created_at = excluded.created_at, updated_at = excluded.updated_at"
)

Change = tuple[int, int, str, str, str, str, str | None]  # seq, ts, table, op, user, todo, image


@dataclass
class RegionDb:
    name: str
    path: Path
    conn: sqlite3.Connection | None = None
    applied: list[tuple[int, int]] = field(default_factory=list)  # replicator-written seq ranges

    def open(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = connect(self.path)
            self.conn.executescript(_BOOKKEEPING)
            self.applied = [tuple(r) for r in self.conn.execute("SELECT lo, hi FROM __replica_applied")]
        return self.conn

    def ours(self, seq: int) -> bool:
        return any(lo < seq <= hi for lo, hi in self.applied)

    def cursor(self, peer: str) -> int:
        row = self.open().execute("SELECT seq FROM __replica_cursor WHERE peer = ?", (peer,)).fetchone()
        return row[0] if row else 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class DirectionStats:
    applied: int = 0
    superseded: int = 0  # older than the destination's version: last writer wins
    skipped: int = 0  # for a table the destination does not have
    pending: int = 0
    lag_ms: int = 0


class Replicator:
    def __init__(self, regions: dict[str, Path], *, is_down: Callable[[str], bool],
                 is_paused: Callable[[], bool], interval_s: float = 0.1, batch: int = 2000) -> None:
        if len(regions) < 2:
            raise ValueError("replication needs two regions")
        self.dbs = {name: RegionDb(name, Path(path)) for name, path in regions.items()}
        self.is_down = is_down
        self.is_paused = is_paused
        self.interval_s = interval_s
        self.batch = batch
        self.stats = {(a, b): DirectionStats() for a in self.dbs for b in self.dbs if a != b}
        self.last_cycle_at: float | None = None
        self._lock = threading.Lock()  # one cycle at a time (thread vs. an explicit sync())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="replicator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for db in self.dbs.values():
            db.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.cycle()
            except Exception:  # noqa: BLE001 - e.g. a database locked for longer than the busy timeout: try again
                _log.exception("replication cycle failed")
                busy = False
            if not busy:
                self._stop.wait(self.interval_s)

    def cycle(self) -> bool:
        """Ship one batch each way between regions that are up. True if a batch was full."""
        with self._lock:
            full = False
            if not self.is_paused():
                for (src, dst) in self.stats:
                    if not self.is_down(src) and not self.is_down(dst):
                        full |= self._ship(self.dbs[src], self.dbs[dst]) >= self.batch
            self.last_cycle_at = time.time()
            return full

    def barrier(self) -> None:
        """Return once no cycle is running (the next one sees whatever changed before this call)."""
        with self._lock:
            pass

    def sync(self, timeout_s: float = 10.0) -> None:
        """Ship until nothing is pending between up regions (tests, and a clean failback)."""
        deadline = time.monotonic() + timeout_s
        while self.cycle() and time.monotonic() < deadline:
            pass

    # ---- one direction ---------------------------------------------------------------------

    def _ship(self, src: RegionDb, dst: RegionDb) -> int:
        source, target = src.open(), dst.open()
        start = dst.cursor(src.name)
        rows: list[Change] = source.execute(
            "SELECT seq, ts, table_name, op, user_id, todo_id, image FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
            (start, self.batch)).fetchall()
        stats = self.stats[(src.name, dst.name)]
        if not rows:
            return 0
        incoming = [r for r in rows if not src.ours(r[0])]
        with immediate_transaction(target):  # the destination's own writers wait: no local write slips by
            self._scan_local(dst)
            tables = {r[0] for r in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            lo = self._max_seq(target)
            for seq, ts, table, op, user, todo, image in incoming:
                if table not in tables:
                    stats.skipped += 1
                    continue
                known = target.execute(_VERSION, (table, user, todo)).fetchone()
                if known is not None and (ts < known[0] or (ts == known[0] and src.name < dst.name)):
                    stats.superseded += 1
                    continue
                self._apply(target, table, op, user, todo, image)
                target.execute(_SET_VERSION, (table, user, todo, ts))
                stats.applied += 1
            hi = self._max_seq(target)
            if hi > lo:
                target.execute("INSERT INTO __replica_applied VALUES (?, ?)", (lo, hi))
            target.execute("INSERT INTO __replica_cursor VALUES (?, ?) ON CONFLICT DO UPDATE SET seq = excluded.seq",
                           (src.name, rows[-1][0]))
        if hi > lo:
            dst.applied.append((lo, hi))
        self._forget_shipped(src, rows[-1][0])
        return len(rows)

    def _scan_local(self, db: RegionDb) -> None:
        """Record the commit time of the region's own new writes (inside the caller's transaction)."""
        conn = db.open()
        start = db.cursor(LOCAL)
        rows = conn.execute("SELECT seq, ts, table_name, user_id, todo_id FROM changes WHERE seq > ? ORDER BY seq",
                            (start,)).fetchall()
        if not rows:
            return
        conn.executemany(_SET_VERSION, [(t, u, k, ts) for seq, ts, t, u, k in rows if not db.ours(seq)])
        conn.execute("INSERT INTO __replica_cursor VALUES (?, ?) ON CONFLICT DO UPDATE SET seq = excluded.seq",
                     (LOCAL, rows[-1][0]))

    @staticmethod
    def _apply(conn: sqlite3.Connection, table: str, op: str, user: str, todo: str, image: str | None) -> None:
        q = '"' + table + '"'
        if op == "put" and image is not None:
            conn.execute(_PUT.format(q=q), {"user": user, "todo": todo, "image": image})
        else:
            conn.execute(f"DELETE FROM {q} WHERE user_id = ? AND id = ?", (user, todo))

    @staticmethod
    def _max_seq(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]

    def _forget_shipped(self, src: RegionDb, through: int) -> None:
        """Applied ranges of `src` every peer has consumed are never looked at again."""
        peers = [db.cursor(src.name) for db in self.dbs.values() if db is not src]
        done = min(peers) if peers else through
        if any(hi <= done for _, hi in src.applied):
            src.applied = [(lo, hi) for lo, hi in src.applied if hi > done]
            src.open().execute("DELETE FROM __replica_applied WHERE hi <= ?", (done,))

    # ---- metrics ---------------------------------------------------------------------------

    def measure(self) -> None:
        """Count each direction's unshipped writes and the age of the oldest (read-only; works on a
        region that is down too: its stranded writes are what an outage loses)."""
        now_ms = time.time() * 1000
        for (src, dst), stats in self.stats.items():
            cursor = self.dbs[dst].cursor(src)
            rows = self.dbs[src].open().execute("SELECT seq, ts FROM changes WHERE seq > ? ORDER BY seq",
                                                (cursor,)).fetchall()
            own = [(seq, ts) for seq, ts in rows if not self.dbs[src].ours(seq)]
            stats.pending = len(own)
            stats.lag_ms = int(max(0.0, now_ms - own[0][1])) if own else 0

    def metrics(self) -> dict[str, object]:
        with self._lock:
            self.measure()
            return {
                "lag_ms": {f"{a}->{b}": s.lag_ms for (a, b), s in self.stats.items()},
                "pending": {f"{a}->{b}": s.pending for (a, b), s in self.stats.items()},
                "applied": {f"{a}->{b}": s.applied for (a, b), s in self.stats.items()},
                "superseded": {f"{a}->{b}": s.superseded for (a, b), s in self.stats.items()},
                "last_cycle_at": self.last_cycle_at,
            }
