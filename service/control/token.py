"""The admin token of the control API: generated once per data directory, file mode 0600."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from service.private_file import read_or_create_private

TOKEN_FILE = "admin.token"


class AdminToken:
    def __init__(self, value: str) -> None:
        if len(value) < 32:
            raise ValueError("admin token too short")
        self.value = value

    @classmethod
    def load_or_create(cls, data_dir: Path) -> AdminToken:
        """Read `<data_dir>/admin.token`, creating it if missing (`service.private_file`: 0600,
        safe when processes race, refused if others can read it)."""
        content = read_or_create_private(Path(data_dir) / TOKEN_FILE, lambda: secrets.token_urlsafe(32).encode())
        return cls(content.decode().strip())

    def accepts(self, authorization: str | None) -> bool:
        """True for `Bearer <token>`; compared in constant time."""
        if not authorization:
            return False
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self.value.encode())
