"""Table corruption: a bad migration, really written into the table, with an exact undo record.

A share of the items is altered in one transaction, spread evenly over the modes:
- `garble`: fields rewritten with garbage. Half of them get a mangled title and an
  invalid priority (the API serves them wrongly); the other half a non-numeric
  `created_at`, on which the handler's own date formatting fails (5xx on read).
- `drop-attribute`: title and priority removed (the API serves nulls).
- `delete`: the item is gone (404).
Before altering anything the original rows are saved to `<dir>/<id>.json`, so the
drill's revert puts back exactly what was there.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from service.control.errors import BadRequest, NotFound
from service.store.sqlite import connect, immediate_transaction
from service.table.backups import COLUMNS
from service.table.catalog import TableCatalog, quote

_FIELDS = COLUMNS.split(", ")


class CorruptionMode(StrEnum):
    GARBLE = "garble"
    DROP_ATTRIBUTE = "drop-attribute"
    DELETE = "delete"


@dataclass
class CorruptionRecord:
    id: str
    table: str
    created_at: float
    by_mode: dict[str, int]
    rows: list[list[object]] = field(repr=False)  # original rows, in _FIELDS order
    reverted_at: float | None = None

    @property
    def items(self) -> int:
        return len(self.rows)

    def summary(self) -> dict[str, object]:
        return {"corruption": self.id, "table": self.table, "items": self.items, "by_mode": self.by_mode,
                "created_at": self.created_at, "reverted_at": self.reverted_at}


def garble_text(text: str | None) -> str:
    """Mojibake as a wrong charset conversion leaves it, plus a replacement character."""
    raw = (text or "").encode("utf-8")
    return raw.decode("latin-1")[::-1] + "\ufffd"


class TableCorruptor:
    def __init__(self, db_path: Path, records_dir: Path) -> None:
        self.db_path = Path(db_path)
        self.dir = Path(records_dir)
        self.catalog = TableCatalog(self.db_path)

    def corrupt(self, table: str, fraction: float, modes: list[str], id_prefix: str | None = None,
                rng: random.Random | None = None) -> CorruptionRecord:
        if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
            raise BadRequest("fraction must be within (0, 1]")
        try:
            chosen = [CorruptionMode(m) for m in modes]
        except ValueError:
            raise BadRequest(f"modes must be among {[m.value for m in CorruptionMode]}, got {modes}") from None
        if not chosen:
            raise BadRequest("modes: give at least one")
        self.catalog.require(table)
        rng = rng or random.Random()
        record = CorruptionRecord(id=f"c-{int(time.time())}-{secrets.token_hex(3)}", table=table,
                                  created_at=time.time(), by_mode={m.value: 0 for m in chosen}, rows=[])
        q = quote(table)
        conn = connect(self.db_path)
        try:
            with immediate_transaction(conn):  # rows chosen and altered in one go: no write slips between
                if id_prefix:
                    rows = conn.execute(f"SELECT {COLUMNS} FROM {q} WHERE substr(id, 1, ?) = ?",
                                        (len(id_prefix), id_prefix)).fetchall()
                else:
                    rows = conn.execute(f"SELECT {COLUMNS} FROM {q}").fetchall()
                count = min(len(rows), max(1, round(fraction * len(rows)))) if rows else 0
                victims = rng.sample(rows, count)
                record.rows = [list(r) for r in victims]
                self._save(record)  # the undo record exists before the first row changes
                for i, row in enumerate(victims):
                    mode = chosen[i % len(chosen)]
                    self._alter(conn, q, row, mode, variant=i // len(chosen))
                    record.by_mode[mode.value] += 1
        except BaseException:
            self._path(record.id).unlink(missing_ok=True)
            raise
        finally:
            conn.close()
        self._save(record)
        return record

    @staticmethod
    def _alter(conn, q: str, row: tuple, mode: CorruptionMode, variant: int) -> None:
        user_id, todo_id, title = row[0], row[1], row[2]
        key = (user_id, todo_id)
        if mode is CorruptionMode.DELETE:
            conn.execute(f"DELETE FROM {q} WHERE user_id = ? AND id = ?", key)
        elif mode is CorruptionMode.DROP_ATTRIBUTE:
            conn.execute(f"UPDATE {q} SET title = NULL, priority = NULL WHERE user_id = ? AND id = ?", key)
        elif variant % 2 == 0:
            conn.execute(f"UPDATE {q} SET title = ?, priority = ? WHERE user_id = ? AND id = ?",
                         (garble_text(title), "URGENT!!\ufffd", *key))
        else:
            # A string where epoch ms belong: readers that format the date fail on it.
            conn.execute(f"UPDATE {q} SET created_at = ? WHERE user_id = ? AND id = ?",
                         ("2024-13-45T99:99:99Z\ufffd", *key))

    def revert(self, corruption_id: str) -> int:
        """Put back the exact pre-corruption rows. Idempotent: a second revert restores 0."""
        record = self.load(corruption_id)
        if record.reverted_at is not None:
            return 0
        self.catalog.require(record.table)
        q = quote(record.table)
        placeholders = ", ".join("?" for _ in _FIELDS)
        conn = connect(self.db_path)
        try:
            with immediate_transaction(conn):
                conn.executemany(f"INSERT OR REPLACE INTO {q} ({COLUMNS}) VALUES ({placeholders})", record.rows)
        finally:
            conn.close()
        record.reverted_at = time.time()
        self._save(record)
        return record.items

    def load(self, corruption_id: str) -> CorruptionRecord:
        path = self._path(corruption_id)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise NotFound(f"no corruption {corruption_id!r}") from None
        return CorruptionRecord(**data)

    def list(self) -> list[CorruptionRecord]:
        if not self.dir.exists():
            return []
        return sorted((self.load(p.stem) for p in self.dir.glob("c-*.json")), key=lambda r: r.created_at)

    def _path(self, corruption_id: str) -> Path:
        if not corruption_id.startswith("c-") or "/" in corruption_id:
            raise NotFound(f"no corruption {corruption_id!r}")
        return self.dir / f"{corruption_id}.json"

    def _save(self, record: CorruptionRecord) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(record.id)
        tmp = path.with_name(f".{path.name}.tmp")
        data = {"id": record.id, "table": record.table, "created_at": record.created_at,
                "by_mode": record.by_mode, "rows": record.rows, "reverted_at": record.reverted_at}
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
