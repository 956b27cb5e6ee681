"""Point-in-time restore: rebuild a table as of a timestamp from the `changes` log.

The store's triggers log every put and delete of every table (including writes made
behind its back), with the commit time in ms. The state of an item at time T is its
last logged change at or before T: a put's image, or nothing after a delete.
"""

from __future__ import annotations

import time
from pathlib import Path

from service.control.errors import BadRequest, Conflict
from service.store.sqlite import connect
from service.table.backups import COLUMNS, fill_table
from service.table.catalog import TableCatalog, quote

# The change log's clock is SQLite's 'now' (ms); a timestamp this far ahead is not "the future" yet.
_CLOCK_SLACK_S = 1.0

_REBUILD = """
INSERT INTO main.{target} ({columns})
SELECT c.user_id, c.todo_id,
       json_extract(c.image, '$.title'), json_extract(c.image, '$.done'),
       json_extract(c.image, '$.due'), json_extract(c.image, '$.priority'),
       json_extract(c.image, '$.created_at'), json_extract(c.image, '$.updated_at')
FROM changes AS c
JOIN (SELECT max(seq) AS seq FROM changes
      WHERE table_name = :source AND ts <= :ts_ms
      GROUP BY user_id, todo_id) AS last ON c.seq = last.seq
WHERE c.op = 'put'
"""


class PointInTimeRestore:
    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.catalog = TableCatalog(self.db_path)

    def earliest(self, source: str) -> float | None:
        """Epoch s of the first logged change of `source` (None: never written)."""
        conn = connect(self.db_path)
        try:
            row = conn.execute("SELECT min(ts) FROM changes WHERE table_name = ?", (source,)).fetchone()
        finally:
            conn.close()
        return row[0] / 1000 if row and row[0] is not None else None

    def restore(self, source: str, target_table: str, epoch_s: float) -> int:
        """Create `target_table` holding `source` as it was at `epoch_s`. Returns its item count."""
        self.catalog.require(source)
        if epoch_s > time.time() + _CLOCK_SLACK_S:
            raise BadRequest(f"timestamp {epoch_s} is in the future")
        if epoch_s <= 0:
            raise BadRequest("timestamp must be epoch seconds > 0")
        if self.catalog.exists(target_table):
            raise Conflict(f"table {target_table!r} already exists")
        self.catalog.create(target_table)
        return fill_table(
            self.db_path,
            target_table,
            _REBUILD.format(target=quote(target_table), columns=COLUMNS),
            {"source": source, "ts_ms": int(epoch_s * 1000)},
        )
