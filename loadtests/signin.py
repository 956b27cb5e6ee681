"""How a Locust worker signs its accounts in and keeps their tokens fresh (runs under gevent).

The plan's `auth` chooses the wire:
- `BundledWire`: `POST /auth/token` on the target with the password. Its tokens have no refresh token,
  so renewing is signing in again.
- `CognitoWire`: `InitiateAuth` on the user pool's endpoint: USER_PASSWORD_AUTH with the password,
  REFRESH_TOKEN_AUTH with the refresh token the harness's sign-in returned.

`TokenKeeper` renews every long-lived account token at 70-80 % of its lifetime (loadtests.tokens), so
a 3-hour drill never sees a 401 storm of its own making; a request that meets a 401 anyway (a revoked
token, a fault) signs in again on its own path (TodoJourney.sign_in), measured as a request of the load.

Why the worker renews over plain HTTPS, rather than with boto3 or in the harness:
- InitiateAuth needs no AWS signature: it is a JSON 1.1 POST, which the load's own gevent client
  (HttpPool: one deadline per request, TLS verified against the system's trust store, keep-alive) sends
  cooperatively. boto3 in a gevent-patched process is the hazard DESIGN.md names, and heavy besides.
- The harness is neither the Locust master nor in touch with the workers during a run; handing fresh
  tokens to workers on other machines would need a channel that does not exist. A worker that renews
  its own copies needs only what it already has: the session (refresh tokens, passwords) and a route
  to Cognito's public endpoint. Each worker renews independently: W workers x N accounts renewals an
  hour, far below Cognito's quotas (renewals are spread over a tenth of the lifetime).
"""

from __future__ import annotations

import heapq
import logging
import time
import weakref
from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING, Protocol

import gevent
import gevent.event
import gevent.pool
import orjson

from loadtests import cognito_wire
from loadtests.http_pool import HttpPool, HttpResult
from loadtests.plan import BundledAuth, CognitoAuth, LoadAuth
from loadtests.tokens import Tokens, lifetime

if TYPE_CHECKING:
    from loadtests.journeys import AccountAuth

log = logging.getLogger(__name__)

_RETRY_MIN_S = 1.0
_RETRY_MAX_S = 30.0
_COGNITO_CONNECTIONS = 16  # renewals are rare; a sign-in storm's rate is Cognito's quota, not ours


class SignInWire(Protocol):
    """How tokens are asked for, and what the answer means."""

    pool: HttpPool  # where sign-in requests go
    path: str

    def password_body(self, username: str, password: str) -> bytes: ...

    def refresh_body(self, refresh_token: str) -> bytes | None:
        """None: this wire has no refresh flow (renewing means signing in with the password)."""

    def tokens(self, result: HttpResult) -> Tokens | None:
        """The answer's tokens; None: refused, or not an answer at all."""

    def close(self) -> None:
        """Close the connections the wire opened itself."""


class BundledWire:
    path = "/auth/token"

    def __init__(self, target_pool: HttpPool) -> None:
        self.pool = target_pool

    def password_body(self, username: str, password: str) -> bytes:
        return orjson.dumps({"username": username, "password": password})

    def refresh_body(self, refresh_token: str) -> bytes | None:
        return None

    def tokens(self, result: HttpResult) -> Tokens | None:
        body = _json(result) if result.status == 200 else None
        token = body.get("access_token") if isinstance(body, dict) else None
        return Tokens(token, lifetime(token, body.get("expires_in"))) if isinstance(token, str) else None

    def close(self) -> None:
        pass  # the target's pool: its owner closes it


class CognitoWire:
    path = "/"

    def __init__(self, auth: CognitoAuth, connections: int = _COGNITO_CONNECTIONS) -> None:
        self.auth = auth
        # Cognito's certificate is a public one: the system's trust store, never the target's private CA.
        self.pool = HttpPool(auth.idp_url, connections, content_type=cognito_wire.CONTENT_TYPE,
                             headers={cognito_wire.TARGET_HEADER: cognito_wire.INITIATE_AUTH})

    def password_body(self, username: str, password: str) -> bytes:
        return cognito_wire.password_body(self.auth.client_id, username, password)

    def refresh_body(self, refresh_token: str) -> bytes | None:
        return cognito_wire.refresh_body(self.auth.client_id, refresh_token)

    def tokens(self, result: HttpResult) -> Tokens | None:
        if result.status != 200:
            if result.status is not None:
                code, message = cognito_wire.error_of(result.body)
                log.warning("Cognito InitiateAuth answered %s %s: %s", result.status, code, message)
            return None
        answer = _json(result)
        tokens = cognito_wire.tokens_from(answer, self.auth.token)
        if tokens is None:
            log.warning("Cognito InitiateAuth answered %s instead of tokens", cognito_wire.challenge_of(answer))
        return tokens

    def close(self) -> None:
        self.pool.close()


def _json(result: HttpResult) -> object:
    try:
        return orjson.loads(result.body)
    except orjson.JSONDecodeError:
        return None


# The plan's `auth` (the target's way of signing in) picks the wire.
_WIRES: dict[type, Callable[..., SignInWire]] = {
    BundledAuth: lambda auth, target_pool: BundledWire(target_pool),
    CognitoAuth: lambda auth, target_pool: CognitoWire(auth),
}


def wire_for(auth: LoadAuth | None, target_pool: HttpPool) -> SignInWire:
    """The plan's way of signing in (None: the target's own /auth endpoints)."""
    auth = auth or BundledAuth()
    return _WIRES[type(auth)](auth, target_pool)


def obtain(wire: SignInWire, auth: AccountAuth, send: Callable[[bytes], HttpResult]) -> Tokens | None:
    """New tokens for `auth`: by its refresh token where the wire has one, else (or when refused, e.g.
    revoked or rotated away) by its password. `send` posts a body to the wire's endpoint."""
    if auth.refresh_token is not None:
        body = wire.refresh_body(auth.refresh_token)
        if body is not None:
            tokens = wire.tokens(send(body))
            if tokens is not None:
                return tokens
    return wire.tokens(send(wire.password_body(auth.username, auth.password)))


class TokenKeeper:
    """Renews tokens ahead of their expiry, off the measured path: one greenlet per worker, a heap of
    (renew-at, account). Holds accounts weakly: a simulated user that ends takes its token with it."""

    def __init__(self, wire: SignInWire, timeout_s: float, clock: Callable[[], float] = time.time) -> None:
        self._wire = wire
        self._timeout_s = timeout_s
        self._clock = clock
        self._heap: list[tuple[float, int, weakref.ref[AccountAuth]]] = []
        self._order = count()
        self._wake = gevent.event.Event()
        self._loop: gevent.Greenlet | None = None
        self._renewals = gevent.pool.Group()  # in flight: killed with the loop, before the pool closes
        self.renewed = 0
        self.failed = 0

    def watch(self, auth: AccountAuth) -> None:
        """Keep `auth` fresh from now on (once; a token of unknown lifetime is left to the 401 path)."""
        if auth.watched or not auth.keep_fresh or auth.renew_at is None:
            return
        auth.watched = True
        self._push(auth.renew_at, auth)

    def start(self) -> None:
        self._loop = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
        self._renewals.kill(block=False)

    def _push(self, at: float, auth: AccountAuth) -> None:
        heapq.heappush(self._heap, (at, next(self._order), weakref.ref(auth)))
        if self._heap[0][0] == at:
            self._wake.set()

    def _run(self) -> None:
        while True:
            wait = self.renew_due()
            self._wake.clear()
            self._wake.wait(wait)

    def renew_due(self) -> float | None:
        """Start renewing every token that is due; seconds until the next one is (None: none watched)."""
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            _, _, ref = heapq.heappop(self._heap)
            auth = ref()
            if auth is None:
                continue
            if auth.renew_at is not None and auth.renew_at > now:
                self._push(auth.renew_at, auth)  # renewed meanwhile (a sign-in after a 401)
                continue
            self._renewals.spawn(self._renew, auth)
        return max(self._heap[0][0] - now, 0.0) if self._heap else None

    def _renew(self, auth: AccountAuth) -> None:
        waiter = auth.begin_refresh(auth.token)
        if waiter is None:
            tokens: Tokens | None = None
            try:
                tokens = obtain(self._wire, auth, self._send)
            finally:
                auth.end_refresh(tokens, self._clock())
            if tokens is not None:
                self.renewed += 1
        else:
            waiter.wait(self._timeout_s)  # a request's own sign-in is under way: its result counts
        now = self._clock()
        if auth.renew_at is not None and auth.renew_at > now:
            self._push(auth.renew_at, auth)
            return
        if auth.token is not None and auth.renew_at is None:
            auth.watched = False  # a token of unknown lifetime: renewed on a 401 only
            return
        self.failed += 1
        # Again soon, and more often as the expiry nears; past it, requests meet 401s and sign in themselves.
        left = (auth.expires_at or now) - now
        log.warning("renewing the token of %s failed; %.0f s of it left", auth.username, max(left, 0))
        self._push(now + min(max(left / 4, _RETRY_MIN_S), _RETRY_MAX_S), auth)

    def _send(self, body: bytes) -> HttpResult:
        return self._wire.pool.request("POST", self._wire.path, time.time() + self._timeout_s, body)
