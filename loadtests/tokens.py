"""A signed-in account's tokens and when to renew them: plain data, for the harness and the workers alike."""

from __future__ import annotations

import base64
import binascii
import random
from dataclasses import dataclass

import orjson

# Renew at 70-80 % of a token's lifetime: early enough that a slow or throttled renewal still lands
# before it expires (12 minutes of a Cognito default hour), spread so that an account pool signed in
# at once does not renew in the same second from every worker.
RENEW_FROM = 0.7
RENEW_TO = 0.8


@dataclass(frozen=True, slots=True)
class Tokens:
    token: str  # what goes in `Authorization: Bearer`
    lifetime_s: float | None  # from when it was received; None: unknown (never renewed ahead of time)
    refresh_token: str | None = None  # renews `token` without the password


def jwt_lifetime(token: str) -> float | None:
    """`exp - iat` of a JWT's claims, read without checking the signature (the issuer checks it, not us)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and isinstance(iat, int | float) and exp > iat:
        return float(exp - iat)
    return None


def lifetime(token: str, expires_in: object) -> float | None:
    """How long `token` is valid: the shorter of the answer's `ExpiresIn`/`expires_in` and the token's own
    claims. Cognito's `ExpiresIn` is the access token's validity; the ID token's may be shorter."""
    known = [float(expires_in)] if isinstance(expires_in, int | float) and expires_in > 0 else []
    claimed = jwt_lifetime(token)
    if claimed is not None:
        known.append(claimed)
    return min(known) if known else None


def renew_at(received_at: float, lifetime_s: float | None, rng: random.Random | None = None) -> float | None:
    """When to renew a token received at `received_at` (None: its lifetime is unknown, renew on a 401)."""
    if lifetime_s is None:
        return None
    return received_at + lifetime_s * (rng or random).uniform(RENEW_FROM, RENEW_TO)
