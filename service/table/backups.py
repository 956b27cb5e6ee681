"""On-demand backups (`create-backup`): a consistent copy of a table in its own file.

A backup is `<region>/backups/<name>.db` holding the table's rows (`items`) and what
it is (`backup_info`). The copy is one statement over one read snapshot of the WAL
database, so it is exactly the table as of `created_at`, while writers go on.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from service.control.errors import Conflict, NotFound
from service.store.sqlite import connect, immediate_transaction
from service.table.catalog import TableCatalog, quote

COLUMNS = "user_id, id, title, done, due, priority, created_at, updated_at"


@dataclass(frozen=True)
class BackupInfo:
    name: str
    table: str
    created_at: float  # epoch s: the snapshot the backup holds
    items: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def backup_name(table: str, epoch_s: float) -> str:
    """`todos-backup-YYYYMMDD-HHMMSS` (UTC), as the runbook's `create-backup` names them."""
    return f"{table}-backup-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(epoch_s))


def fill_table(
    db_path: Path, target_table: str, sql: str, params: dict | tuple = (), *, attach: Path | None = None
) -> int:
    """Fill a freshly created table with one statement, all or nothing. Returns its item count."""
    conn = connect(db_path)
    try:
        if attach is not None:
            conn.execute("ATTACH DATABASE ? AS b", (str(attach),))  # not allowed inside a transaction
        with immediate_transaction(conn):
            conn.execute(sql, params)
            items = conn.execute(f"SELECT count(*) FROM main.{quote(target_table)}").fetchone()[0]
    finally:
        conn.close()
    return items


class BackupStore:
    def __init__(self, db_path: Path, backups_dir: Path) -> None:
        self.db_path = Path(db_path)
        self.dir = Path(backups_dir)
        self.catalog = TableCatalog(self.db_path)

    def path_of(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise NotFound(f"no backup {name!r}")
        return self.dir / f"{name}.db"

    def create(self, table: str) -> BackupInfo:
        self.catalog.require(table)
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.time()
        name = backup_name(table, started)
        suffix = 1
        while self.path_of(name).exists():  # two backups in one second: keep both
            suffix += 1
            name = f"{backup_name(table, started)}-{suffix}"
        target = self.path_of(name)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.unlink(missing_ok=True)
        conn = connect(self.db_path)
        try:
            conn.execute("ATTACH DATABASE ? AS b", (str(tmp),))
            conn.execute("BEGIN")
            # The first read fixes the snapshot; the time taken right after it is what the copy holds.
            conn.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1").fetchall()
            created_at = time.time()
            conn.execute(f"CREATE TABLE b.items AS SELECT {COLUMNS} FROM main.{quote(table)}")
            items = conn.execute("SELECT count(*) FROM b.items").fetchone()[0]
            conn.execute("CREATE TABLE b.backup_info (name TEXT, tbl TEXT, created_at REAL, items INTEGER)")
            conn.execute("INSERT INTO b.backup_info VALUES (?, ?, ?, ?)", (name, table, created_at, items))
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE b")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            tmp.unlink(missing_ok=True)
            raise
        finally:
            conn.close()
        tmp.rename(target)  # only complete backups ever carry a backup's name
        return BackupInfo(name, table, created_at, items)

    def info(self, name: str) -> BackupInfo:
        path = self.path_of(name)
        if not path.exists():
            raise NotFound(f"no backup {name!r}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT name, tbl, created_at, items FROM backup_info").fetchone()
        finally:
            conn.close()
        return BackupInfo(row[0], row[1], float(row[2]), int(row[3]))

    def list(self) -> list[BackupInfo]:
        if not self.dir.exists():
            return []
        found = [self.info(p.stem) for p in self.dir.glob("*.db") if not p.name.startswith(".")]
        return sorted(found, key=lambda b: b.created_at)

    def restore(self, name: str, target_table: str) -> int:
        """restore-table-from-backup into a new table. Returns the number of items restored."""
        path = self.path_of(name)
        if not path.exists():
            raise NotFound(f"no backup {name!r}")
        if self.catalog.exists(target_table):
            raise Conflict(f"table {target_table!r} already exists")
        self.catalog.create(target_table)
        return fill_table(
            self.db_path,
            target_table,
            f"INSERT INTO main.{quote(target_table)} ({COLUMNS}) SELECT {COLUMNS} FROM b.items",
            attach=path,
        )
