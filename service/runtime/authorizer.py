"""The gateway's token authorizer (API Gateway + Cognito authorizer in the real stack).

Checks the bearer JWT (signature, expiry, issuer) and the shared `jti` blacklist before
the function runs; the claims reach the function in `requestContext.authorizer.claims`.
"""

from __future__ import annotations

from service.identity import Claims, RevocationList, TokenInvalid, TokenService
from service.proxy import unauthorized


class JwtAuthorizer:
    def __init__(self, tokens: TokenService, revocations: RevocationList) -> None:
        self.tokens = tokens
        self.revocations = revocations

    def authorize(self, authorization: str | None) -> Claims:
        """Claims of a valid token, or raise ApiError 401 saying what is wrong."""
        if not authorization:
            raise unauthorized("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Authorization header must be 'Bearer <token>'")
        try:
            claims = self.tokens.verify(token)
        except TokenInvalid as exc:
            raise unauthorized(str(exc)) from None
        if self.revocations.is_revoked(claims.jti):
            raise unauthorized("token revoked")
        return claims
