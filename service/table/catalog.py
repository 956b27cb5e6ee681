"""The tables of one region's database: list, count, create, drop.

Every todo table lives in the region's SQLite file beside the `changes` log; internal
tables (the change log, the replicator's bookkeeping, prefixed `__`) are not tables of
the DynamoDB role and are never listed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from service.control.errors import BadRequest, Conflict, NotFound
from service.store.base import validate_table_name
from service.store.sqlite import connect, create_table

INTERNAL_TABLES = frozenset({"changes", "sqlite_sequence"})
INTERNAL_PREFIX = "__"


@dataclass(frozen=True)
class TableInfo:
    name: str
    items: int


def quote(name: str) -> str:
    """A table name as an SQL identifier (names are validated: no quotes can occur)."""
    return '"' + validate_table_name(name) + '"'


class TableCatalog:
    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.db_path)

    def names(self, conn: sqlite3.Connection | None = None) -> list[str]:
        own = conn is None
        conn = conn or self._connect()
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
        finally:
            if own:
                conn.close()
        return [r[0] for r in rows if r[0] not in INTERNAL_TABLES and not r[0].startswith(INTERNAL_PREFIX)]

    def exists(self, name: str) -> bool:
        return name in self.names()

    def tables(self) -> list[TableInfo]:
        conn = self._connect()
        try:
            return [TableInfo(n, conn.execute(f"SELECT count(*) FROM {quote(n)}").fetchone()[0])
                    for n in self.names(conn)]
        finally:
            conn.close()

    def count(self, name: str) -> int:
        self.require(name)
        conn = self._connect()
        try:
            return conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
        finally:
            conn.close()

    def require(self, name: str) -> None:
        if not self.exists(name):
            raise NotFound(f"no table {name!r}")

    def create(self, name: str) -> None:
        """A new, empty table with the change-log triggers. 409 if it exists."""
        try:
            validate_table_name(name)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if name.startswith(INTERNAL_PREFIX) or name in INTERNAL_TABLES:
            raise Conflict(f"{name!r} is reserved")
        if self.exists(name):
            raise Conflict(f"table {name!r} already exists")
        create_table(self.db_path, name)

    def drop(self, name: str) -> None:
        self.require(name)
        conn = self._connect()
        try:
            conn.execute(f"DROP TABLE {quote(name)}")  # its triggers go with it
        finally:
            conn.close()
