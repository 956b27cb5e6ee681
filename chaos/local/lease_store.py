"""The lease of a bundled target: a lock file in the service's data directory.

Every harness that drives the service's control plane reads the admin token from that directory, so
every one of them sees the file. It is written whole under a temporary name and linked into place:
the link is atomic and fails when the file exists (one of two drills starting at once wins), and no
reader ever sees half a record.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import ValidationError

from chaos.lease import LeaseRecord

LEASE_FILE = "drill.lease"


class LockFileLeaseStore:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LEASE_FILE
        self.where = f"lock file {self.path}"

    def read(self) -> LeaseRecord | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            return LeaseRecord.model_validate_json(text)
        except ValidationError:
            # Not a record this harness wrote (edited by hand, an older format): stale, so it is taken over.
            return LeaseRecord(owner="unknown", host="?", pid=0, run_id="?", acquired_at=0.0, expires_at=0.0,
                               token=f"unreadable-{os.stat(self.path).st_mtime_ns}")

    def create(self, record: LeaseRecord) -> bool:
        tmp = self._written(record)
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def replace(self, record: LeaseRecord) -> None:
        os.replace(self._written(record), self.path)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    def _written(self, record: LeaseRecord) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{LEASE_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(record.model_dump_json())
        return tmp
