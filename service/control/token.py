"""The admin token of the control API: generated once per data directory, file mode 0600."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from service.errors import ServiceError

TOKEN_FILE = "admin.token"


class AdminToken:
    def __init__(self, value: str) -> None:
        if len(value) < 32:
            raise ValueError("admin token too short")
        self.value = value

    @classmethod
    def load_or_create(cls, data_dir: Path) -> AdminToken:
        """Read `<data_dir>/admin.token`, creating it (0600) if missing. Safe when processes race."""
        path = Path(data_dir) / TOKEN_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, secrets.token_urlsafe(32).encode())
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # the first process wins, with the whole token in place
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        if path.stat().st_mode & 0o077:
            raise ServiceError(f"{path} is readable by others; it must be mode 0600 (chmod 600, or delete it)")
        return cls(path.read_text().strip())

    def accepts(self, authorization: str | None) -> bool:
        """True for `Bearer <token>`; compared in constant time."""
        if not authorization:
            return False
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self.value.encode())
