"""The change log of control actions: one JSON line per action, with its time.

Appended by the supervisor only (one writer), read back by `GET /control/log`.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pydantic import BaseModel, JsonValue

LOG_FILE = "changes.jsonl"


class ChangeEntry(BaseModel):
    at: str  # ISO 8601 UTC with ms
    epoch_s: float
    action: str
    region: str | None = None
    detail: dict[str, JsonValue] = {}


def iso_now(epoch_s: float) -> str:
    millis = int(epoch_s * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{millis:03d}Z"


class ChangeLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, action: str, detail: dict[str, JsonValue] | None = None, *,
               region: str | None = None) -> ChangeEntry:
        now = time.time()
        entry = ChangeEntry(at=iso_now(now), epoch_s=now, action=action, region=region, detail=detail or {})
        line = entry.model_dump_json() + "\n"
        with self._lock:
            # O_APPEND: one write per line, so a concurrent reader never sees half a line.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return entry

    def entries(self, since: float | None = None, limit: int | None = None) -> list[ChangeEntry]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        found = [ChangeEntry.model_validate_json(line) for line in lines if line.strip()]
        if since is not None:
            found = [e for e in found if e.epoch_s >= since]
        return found[-limit:] if limit else found
