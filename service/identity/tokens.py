"""HS256 access tokens (a Cognito access token's claims: sub, username, exp, iat, jti, iss).

The signing key is generated once per data directory (file mode 0600) and shared by
every worker process of the instance; it is never a constant in the code.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from service.private_file import read_or_create_private

_ALGORITHM = "HS256"
_REQUIRED = ["sub", "exp", "iat", "jti", "iss"]


class TokenInvalid(Exception):
    """The token cannot be used; the message says why (expired, bad signature, ...)."""


@dataclass(frozen=True)
class Claims:
    sub: str
    username: str
    jti: str
    iat: int
    exp: int
    iss: str

    def as_dict(self) -> dict[str, object]:
        """A fresh dict of the claims (the shape of `requestContext.authorizer.claims`)."""
        cached = self.__dict__.get("_dict")
        if cached is None:
            cached = {"sub": self.sub, "username": self.username, "jti": self.jti,
                      "iat": self.iat, "exp": self.exp, "iss": self.iss}
            object.__setattr__(self, "_dict", cached)  # built once per verified token
        return cached.copy()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    claims: Claims


def load_or_create_key(path: Path) -> bytes:
    """Read the instance's key, creating it if missing (`service.private_file`: 0600, safe when
    processes race, refused if others can read it)."""
    key = read_or_create_private(path, lambda: secrets.token_hex(32).encode()).strip()
    if len(key) < 32:
        raise ValueError(f"signing key {path} is too short or damaged; delete it to make a new one")
    return key


class TokenService:
    def __init__(self, key: bytes, *, issuer: str, ttl_s: int) -> None:
        self._key = key
        self.issuer = issuer
        self.ttl_s = ttl_s

    def issue(self, *, sub: str, username: str) -> IssuedToken:
        now = int(time.time())
        claims = Claims(sub=sub, username=username, jti=secrets.token_urlsafe(16),
                        iat=now, exp=now + self.ttl_s, iss=self.issuer)
        payload = {**claims.as_dict(), "token_use": "access"}
        token = jwt.encode(payload, self._key, algorithm=_ALGORITHM)
        return IssuedToken(access_token=token, expires_in=self.ttl_s, claims=claims)

    def verify(self, token: str) -> Claims:
        """The claims of a token signed here and not expired (the gateway's authorizer caches them)."""
        try:
            payload = jwt.decode(
                token, self._key, algorithms=[_ALGORITHM], issuer=self.issuer,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenInvalid("token expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenInvalid("token signature is not valid") from exc
        except jwt.PyJWTError as exc:
            raise TokenInvalid(f"token is not valid: {exc}") from exc
        try:
            claims = Claims(sub=str(payload["sub"]), username=str(payload.get("username", "")),
                            jti=str(payload["jti"]), iat=int(payload["iat"]),
                            exp=int(payload["exp"]), iss=str(payload["iss"]))
        except (TypeError, ValueError) as exc:
            raise TokenInvalid("token claims are malformed") from exc
        return claims
