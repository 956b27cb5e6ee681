"""The gateway's token authorizer (API Gateway + Cognito authorizer in the real stack).

Checks the bearer JWT (signature, expiry, issuer) and the shared `jti` blacklist before
the function runs; the claims reach the function in `requestContext.authorizer.claims`.
"""

from __future__ import annotations

import time

from service.identity import Claims, RevocationList, TokenInvalid, TokenService
from service.proxy import unauthorized

_CACHE_MAX = 50_000


class JwtAuthorizer:
    def __init__(self, tokens: TokenService, revocations: RevocationList) -> None:
        self.tokens = tokens
        self.revocations = revocations
        # Claims by the exact Authorization header that carried them: a client sends the same
        # header on every request, so a hit skips parsing it, HMAC and JSON. Expiry and
        # revocation are still checked on every request.
        self._by_header: dict[str, Claims] = {}

    def authorize(self, authorization: str | None) -> Claims:
        """Claims of a valid token, or raise ApiError 401 saying what is wrong."""
        claims = self._by_header.get(authorization)  # type: ignore[arg-type]
        if claims is None or claims.exp <= time.time():
            claims = self._verify(authorization)
        if self.revocations.is_revoked(claims.jti):
            raise unauthorized("token revoked")
        return claims

    def _verify(self, authorization: str | None) -> Claims:
        if not authorization:
            raise unauthorized("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Authorization header must be 'Bearer <token>'")
        try:
            claims = self.tokens.verify(token)
        except TokenInvalid as exc:
            self._by_header.pop(authorization, None)
            raise unauthorized(str(exc)) from None
        if len(self._by_header) >= _CACHE_MAX:
            self._by_header.clear()
        self._by_header[authorization] = claims
        return claims
