"""Salted scrypt password hashes. Slow on purpose: callers run them off the event loop."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PasswordHasher:
    """Encodes as `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`, so the cost can change without rehashing."""

    def __init__(self, cost_log2: int = 14, block_size: int = 8, parallelism: int = 1) -> None:
        if not 10 <= cost_log2 <= 20:
            raise ValueError("scrypt cost (log2 N) must be within 10..20")
        self.cost_log2 = cost_log2
        self.block_size = block_size
        self.parallelism = parallelism
        # A fixed dummy hash lets sign-in for an unknown user cost as much as for a known one.
        self._dummy = self.hash(_b64(os.urandom(12)))

    @staticmethod
    def _derive(password: str, salt: bytes, cost_log2: int, r: int, p: int) -> bytes:
        n = 1 << cost_log2
        return hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n * p + (1 << 20), dklen=32
        )

    def hash(self, password: str) -> str:
        salt = os.urandom(16)
        digest = self._derive(password, salt, self.cost_log2, self.block_size, self.parallelism)
        return f"scrypt${self.cost_log2}${self.block_size}${self.parallelism}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, encoded: str | None) -> bool:
        """True when `password` matches. `encoded=None` (unknown user) costs the same and is False."""
        target = encoded or self._dummy
        try:
            scheme, cost, r, p, salt, digest = target.split("$")
            if scheme != "scrypt":
                return False
            actual = self._derive(password, _unb64(salt), int(cost), int(r), int(p))
        except ValueError:
            return False
        return encoded is not None and hmac.compare_digest(actual, _unb64(digest))
