"""The user pool: users, revoked token ids and failed sign-ins, in one SQLite file.

Always SQLite (a local Cognito stand-in), shared by every worker process, so a
revocation or a lockout made by one worker holds for all of them at once.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from service.store.sqlite import ThreadConnections

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY,
    exp INTEGER NOT NULL,
    revoked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signin_failures (
    username TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS signin_failures_by_user ON signin_failures (username, ts);
CREATE TABLE IF NOT EXISTS signin_lockouts (
    username TEXT PRIMARY KEY,
    until REAL NOT NULL
);
"""


class UserExists(Exception):
    pass


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    user_id: str
    password_hash: str


class UserDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path)
        self._conn = self._connections.get
        self._conn().executescript(_SCHEMA)

    def create_user(self, username: str, password_hash: str) -> UserRecord:
        record = UserRecord(username, str(uuid.uuid4()), password_hash)
        try:
            self._conn().execute(
                "INSERT INTO users (username, user_id, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (username, record.user_id, password_hash, time.time()),
            )
        except sqlite3.IntegrityError as exc:
            raise UserExists(username) from exc
        return record

    def find(self, username: str) -> UserRecord | None:
        row = self._conn().execute(
            "SELECT username, user_id, password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        return UserRecord(*row) if row else None

    def revoke(self, jti: str, exp: int) -> None:
        conn = self._conn()
        conn.execute(
            "INSERT OR IGNORE INTO revoked_tokens (jti, exp, revoked_at) VALUES (?, ?, ?)",
            (jti, exp, time.time()),
        )
        # An expired token is refused anyway: its blacklist entry is no longer needed.
        conn.execute("DELETE FROM revoked_tokens WHERE exp < ?", (int(time.time()) - 60,))

    def revoked_ids(self) -> list[str]:
        """Ids of revoked tokens that have not expired yet."""
        rows = self._conn().execute("SELECT jti FROM revoked_tokens WHERE exp >= ?", (int(time.time()) - 60,))
        return [row[0] for row in rows]

    def record_failure(self, username: str, *, window_s: float) -> int:
        """Count a failed sign-in; returns the failures of this user within the window."""
        now = time.time()
        conn = self._conn()
        conn.execute("INSERT INTO signin_failures (username, ts) VALUES (?, ?)", (username, now))
        conn.execute("DELETE FROM signin_failures WHERE ts < ?", (now - window_s,))
        (count,) = conn.execute(
            "SELECT count(*) FROM signin_failures WHERE username = ? AND ts >= ?", (username, now - window_s)
        ).fetchone()
        return int(count)

    def clear_failures(self, username: str) -> None:
        self._conn().execute("DELETE FROM signin_failures WHERE username = ?", (username,))

    def lock(self, username: str, until: float) -> None:
        self._conn().execute(
            "INSERT INTO signin_lockouts (username, until) VALUES (?, ?)"
            " ON CONFLICT (username) DO UPDATE SET until = excluded.until",
            (username, until),
        )

    def locked_until(self, username: str) -> float | None:
        """Epoch seconds until which sign-in is refused, or None when not locked."""
        row = self._conn().execute(
            "SELECT until FROM signin_lockouts WHERE username = ?", (username,)
        ).fetchone()
        if row and row[0] > time.time():
            return float(row[0])
        return None

    def close(self) -> None:
        self._connections.close()
