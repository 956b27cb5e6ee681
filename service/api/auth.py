"""The `auth` function: the local stand-in for the Cognito user pool.

Sign-up and sign-in hash passwords with scrypt, which is slow on purpose, so the
runtime invokes this function in a thread pool, never on the event loop.
After `max_failures` failed sign-ins for one user within `window_s`, every attempt
(right password or not) gets 429 for `lockout_s`, and each is logged as a
security event (the manual's "surge of failed sign-ins").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from service.api.models import Credentials, NewUser, parse_body
from service.api.routes import Integration, bind_operations, operation_id
from service.identity import PasswordHasher, RevocationList, TokenService, UserDirectory, UserExists
from service.proxy import ApiError, ProxyResponse, error_response, json_response, unauthorized
from service.runtime.function import Event, FunctionConfig, Handler, LambdaContext


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 10
    window_s: float = 60.0
    lockout_s: float = 60.0


class SecurityEvent:
    """Values of `metadata.securityEvent` in log lines."""

    FAILED_SIGNIN = "failed_signin"
    LOCKED_OUT = "signin_lockout"  # the failure that crossed the threshold
    REFUSED_WHILE_LOCKED = "signin_refused_locked"


class AuthApi:
    def __init__(
        self,
        users: UserDirectory,
        revocations: RevocationList,
        hasher: PasswordHasher,
        tokens: TokenService,
        policy: SignInPolicy,
    ) -> None:
        self.users = users
        self.revocations = revocations
        self.hasher = hasher
        self.tokens = tokens
        self.policy = policy
        self._operations = bind_operations(Integration.AUTH, {
            "signUp": self.sign_up,
            "signIn": self.sign_in,
            "revokeToken": self.revoke,
        })

    def __call__(self, event: Event, context: LambdaContext) -> ProxyResponse:
        operation = self._operations.get(operation_id(event))
        if operation is None:
            return error_response(404, "not_found", "no such resource")
        try:
            return operation(event, context)
        except ApiError as exc:
            return exc.response()

    def sign_up(self, event: Event, context: LambdaContext) -> ProxyResponse:
        creds = parse_body(NewUser, event.get("body"), event.get("isBase64Encoded", False))
        if self.users.find(creds.username) is not None:  # spare the slow hash for a known clash
            raise ApiError(409, "user_exists", f"user {creds.username!r} already exists")
        try:
            record = self.users.create_user(creds.username, self.hasher.hash(creds.password))
        except UserExists:
            raise ApiError(409, "user_exists", f"user {creds.username!r} already exists") from None
        context.user_id = record.user_id
        return json_response(201, {"username": record.username})

    def sign_in(self, event: Event, context: LambdaContext) -> ProxyResponse:
        creds = parse_body(Credentials, event.get("body"), event.get("isBase64Encoded", False))
        username = creds.username
        locked_until = self.users.locked_until(username)
        if locked_until is not None:
            retry_after = max(1, math.ceil(locked_until - time.time()))
            self._security(context, SecurityEvent.REFUSED_WHILE_LOCKED, username,
                           f"sign-in refused for {username}: locked after repeated failures")
            raise ApiError(429, "too_many_attempts",
                           f"too many failed sign-ins; retry in {retry_after} s",
                           {"retry-after": str(retry_after)})
        user = self.users.find(username)
        if user is not None:
            context.user_id = user.user_id
        if not self.hasher.verify(creds.password, user.password_hash if user else None):
            failures = self.users.record_failure(username, window_s=self.policy.window_s)
            if failures >= self.policy.max_failures:
                self.users.lock(username, time.time() + self.policy.lockout_s)
                self._security(context, SecurityEvent.LOCKED_OUT, username,
                               f"sign-in locked for {username}: {failures} failures "
                               f"within {self.policy.window_s:g} s")
            else:
                self._security(context, SecurityEvent.FAILED_SIGNIN, username,
                               f"failed sign-in for {username} ({failures} within {self.policy.window_s:g} s)")
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        assert user is not None
        self.users.clear_failures(username)
        issued = self.tokens.issue(sub=user.user_id, username=user.username)
        return json_response(200, {
            "access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in,
        })

    def revoke(self, event: Event, context: LambdaContext) -> ProxyResponse:
        claims = ((event["requestContext"].get("authorizer") or {}).get("claims")) or {}
        if not claims.get("jti"):
            raise unauthorized("missing bearer token")
        context.user_id = claims.get("sub")
        self.revocations.revoke(str(claims["jti"]), int(claims["exp"]))
        return json_response(200, {"revoked": claims["jti"]})

    @staticmethod
    def _security(context: LambdaContext, kind: str, username: str, message: str) -> None:
        context.log_level = "WARN"
        context.log_message = message
        context.log_extra = {"securityEvent": kind, "username": username}


class AuthCode:
    """Deployable code of the `auth` function; the user pool and key belong to the instance."""

    def __init__(
        self,
        users: UserDirectory,
        revocations: RevocationList,
        hasher: PasswordHasher,
        tokens: TokenService,
        policy: SignInPolicy,
    ) -> None:
        self._api = AuthApi(users, revocations, hasher, tokens, policy)

    def load(self, config: FunctionConfig) -> Handler:
        return self._api

    def close(self) -> None:
        pass  # the user pool belongs to the instance (the authorizer uses it too)
