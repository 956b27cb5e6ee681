"""The local Cognito stand-in: users with salted slow password hashes, HS256 JWTs with a
per-data-directory key, a `jti` blacklist, and sign-in lockout."""

from service.identity.passwords import PasswordHasher
from service.identity.revocations import RevocationList
from service.identity.tokens import Claims, IssuedToken, TokenInvalid, TokenService, load_or_create_key
from service.identity.users import UserDirectory, UserExists, UserRecord

__all__ = [
    "Claims",
    "IssuedToken",
    "PasswordHasher",
    "RevocationList",
    "TokenInvalid",
    "TokenService",
    "UserDirectory",
    "UserExists",
    "UserRecord",
    "load_or_create_key",
]
