"""The todo app's user journeys: one weighted request at a time, on behalf of an actor.

Runs inside a Locust worker (gevent). Every request is filed in the second it was intended in and
timed from that moment; every write goes to the ledger with its outcome. An actor is the identity
(pool account + token) and the todos it knows about: one per simulated user in the closed model, one
per pool account in the open model (where concurrent arrivals share it).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from enum import Enum, auto
from itertools import accumulate, count

import gevent.event
import orjson

from loadtests.collector import SecondCollector
from loadtests.http_pool import HttpPool, HttpResult
from loadtests.ledger import LedgerSink, outcome_for
from loadtests.plan import Weights
from loadtests.records import WriteOp
from loadtests.session import SignedInAccount
from loadtests.signin import BundledWire, SignInWire, TokenKeeper, obtain
from loadtests.tokens import Tokens, renew_at

OPS = ("create", "list", "get", "update", "delete")
_BOOK_LIMIT = 64  # todos an actor keeps track of (bounds memory at 10,000 users); older ones are left alone
_PRIORITIES = ("low", "normal", "high")


class _Business(Enum):
    CREATED = auto()
    COMPLETED = auto()


class AccountAuth:
    """A pool account's credentials and current token; one sign-in at a time renews it.

    `renew_at`: when TokenKeeper renews the token ahead of its expiry (None: its lifetime is unknown,
    or there is no token yet). `keep_fresh`: False for an identity of one request (an open-model
    arrival of a sign-in storm), which no keeper should hold on to."""

    __slots__ = ("__weakref__", "_refreshing", "expires_at", "keep_fresh", "password", "refresh_token", "renew_at",
                 "token", "username", "watched")

    def __init__(self, username: str, password: str, token: str | None = None, *, refresh_token: str | None = None,
                 issued_at: float | None = None, lifetime_s: float | None = None, keep_fresh: bool = True) -> None:
        self.username = username
        self.password = password
        self.token = token
        self.refresh_token = refresh_token
        self.renew_at: float | None = None
        self.expires_at: float | None = None
        self.keep_fresh = keep_fresh
        self.watched = False  # in a TokenKeeper's care
        if token is not None and issued_at is not None:
            self._schedule(issued_at, lifetime_s)
        self._refreshing: gevent.event.Event | None = None

    @classmethod
    def of(cls, account: SignedInAccount) -> AccountAuth:
        return cls(account.username, account.password, account.token, refresh_token=account.refresh_token,
                   issued_at=account.issued_at, lifetime_s=account.lifetime_s)

    def begin_refresh(self, stale: str | None) -> gevent.event.Event | None:
        """None: the caller must sign in (then call `end_refresh`); an Event: wait for the one who does."""
        if self.token != stale:
            done = gevent.event.Event()
            done.set()
            return done
        if self._refreshing is not None:
            return self._refreshing
        self._refreshing = gevent.event.Event()
        return None

    def end_refresh(self, tokens: Tokens | None, now: float | None = None) -> None:
        if tokens is not None:
            self.token = tokens.token
            if tokens.refresh_token is not None:  # a password sign-in, or a client that rotates them
                self.refresh_token = tokens.refresh_token
            self._schedule(time.time() if now is None else now, tokens.lifetime_s)
        event, self._refreshing = self._refreshing, None
        if event is not None:
            event.set()

    def _schedule(self, received_at: float, lifetime_s: float | None) -> None:
        self.renew_at = renew_at(received_at, lifetime_s)
        self.expires_at = None if lifetime_s is None else received_at + lifetime_s


@dataclass
class Book:
    """Todo ids an actor created and may read, update or delete; `take` checks one out exclusively,
    so no two requests of one actor ever touch the same todo at once."""

    ids: list[str] = field(default_factory=list)
    done: dict[str, bool] = field(default_factory=dict)

    def add(self, todo_id: str, done: bool = False) -> None:
        if len(self.ids) >= _BOOK_LIMIT:
            self.done.pop(self._remove(random.randrange(len(self.ids))), None)
        self.ids.append(todo_id)
        self.done[todo_id] = done

    def take(self) -> str | None:
        return self._remove(random.randrange(len(self.ids))) if self.ids else None

    def put_back(self, todo_id: str) -> None:
        self.ids.append(todo_id)

    def forget(self, todo_id: str) -> None:
        self.done.pop(todo_id, None)

    def _remove(self, i: int) -> str:
        self.ids[i], self.ids[-1] = self.ids[-1], self.ids[i]
        return self.ids.pop()


@dataclass
class Actor:
    auth: AccountAuth
    book: Book = field(default_factory=Book)


class TodoJourney:
    """Performs journey steps against the target through one worker's pool, collector and ledger."""

    def __init__(
        self,
        pool: HttpPool,
        collector: SecondCollector,
        ledger: LedgerSink,
        weights: Weights,
        timeout_s: float,
        id_prefix: str,
        wire: SignInWire | None = None,
        keeper: TokenKeeper | None = None,
    ) -> None:
        self._pool = pool
        self._wire = wire if wire is not None else BundledWire(pool)
        self._keeper = keeper
        self._collector = collector
        self._ledger = ledger
        self._timeout_s = timeout_s
        self._cum = list(accumulate(getattr(weights, op) for op in OPS))
        if self._cum[-1] <= 0:
            raise ValueError("journey weights must not all be zero")
        self._prefix = id_prefix
        self._ids = count(1)
        self.in_flight = 0
        self.closed = False

    def step(self, actor: Actor, intended: float, t: int | None = None) -> None:
        """One request of the journey mix intended at `intended` (second `t` if already registered).

        Counted while in flight, so a stopping worker can wait for every write's outcome before it
        closes the ledger; once `closed`, no new request starts (a write the ledger would miss).
        """
        if self.closed:
            if t is not None:
                self._collector.cancel(t)
            return
        self.in_flight += 1
        try:
            self._step(actor, intended, t)
        finally:
            self.in_flight -= 1

    def _step(self, actor: Actor, intended: float, t: int | None) -> None:
        if actor.auth.token is None:
            self.sign_in(actor.auth, None, intended, t)
            intended, t = time.time(), None
            if actor.auth.token is None:
                return
        op = random.choices(OPS, cum_weights=self._cum)[0]
        if op == "list":
            self._send(actor, "GET", "/todos?limit=20", intended, t)
            return
        if op == "get":
            # Checked out like a write: concurrent arrivals of the open model must not read a todo
            # that a delete in flight may remove first (a 404 the target is not to blame for).
            todo_id = actor.book.take()
            if todo_id is not None:
                try:
                    self._send(actor, "GET", f"/todos/{todo_id}", intended, t)
                finally:
                    actor.book.put_back(todo_id)
                return
        elif op in ("update", "delete"):
            todo_id = actor.book.take()
            if todo_id is not None:
                (self._update if op == "update" else self._delete)(actor, todo_id, intended, t)
                return
        self._create(actor, intended, t)  # create, or nothing to read/change yet

    def sign_in(self, auth: AccountAuth, stale: str | None, intended: float, t: int | None = None) -> None:
        """Replace the token `stale` (None: no token yet) unless someone already did. Its requests (a
        refresh, then the password if need be) are requests of the load, measured like any other."""
        waiter = auth.begin_refresh(stale)
        if waiter is not None:
            if t is not None:
                self._collector.cancel(t)
            waiter.wait(max(intended + self._timeout_s - time.time(), 0))
            return
        first = True

        def send(body: bytes) -> HttpResult:
            nonlocal first
            # The first request takes the caller's slot (intended time, registered second); a second one
            # (the password after a refused refresh) is intended when it goes out.
            at, second = (intended, t) if first else (time.time(), None)
            first = False
            result, _ = self._request("POST", self._wire.path, at, second, body, None, pool=self._wire.pool)
            return result

        tokens: Tokens | None = None
        try:
            tokens = obtain(self._wire, auth, send)
        finally:
            auth.end_refresh(tokens)
        if tokens is not None and self._keeper is not None:
            self._keeper.watch(auth)

    def _create(self, actor: Actor, intended: float, t: int | None) -> None:
        todo_id = f"{self._prefix}{next(self._ids):x}"
        title = f"load {todo_id}"
        body = orjson.dumps({"id": todo_id, "title": title, "priority": random.choice(_PRIORITIES)})
        result, done_at = self._send(actor, "POST", "/todos", intended, t, body, _Business.CREATED)
        self._log(WriteOp.CREATE, todo_id, actor, intended, done_at, result, title, False)
        if result.status is not None and 200 <= result.status < 300:
            actor.book.add(todo_id)

    def _update(self, actor: Actor, todo_id: str, intended: float, t: int | None) -> None:
        complete = not actor.book.done.get(todo_id, False) and random.random() < 0.5
        title = None if complete else f"load {todo_id} r{random.randrange(1 << 20):x}"
        payload = {"done": True} if complete else {"title": title}
        business = _Business.COMPLETED if complete else None
        result, done_at = self._send(actor, "PATCH", f"/todos/{todo_id}", intended, t, orjson.dumps(payload), business)
        self._log(WriteOp.UPDATE, todo_id, actor, intended, done_at, result, title, True if complete else None)
        if complete and result.status == 200:
            actor.book.done[todo_id] = True
        actor.book.put_back(todo_id)

    def _delete(self, actor: Actor, todo_id: str, intended: float, t: int | None) -> None:
        result, done_at = self._send(actor, "DELETE", f"/todos/{todo_id}", intended, t)
        self._log(WriteOp.DELETE, todo_id, actor, intended, done_at, result, None, None)
        if result.status is not None and (200 <= result.status < 300 or result.status == 404):
            actor.book.forget(todo_id)
        else:
            actor.book.put_back(todo_id)

    def _send(
        self,
        actor: Actor,
        method: str,
        path: str,
        intended: float,
        t: int | None,
        body: bytes | None = None,
        business: _Business | None = None,
    ) -> tuple[HttpResult, float]:
        token = actor.auth.token
        result, done_at = self._request(method, path, intended, t, body, token, business)
        if result.status == 401:
            # Expired or revoked token: the request stays a failure; later requests use a new token.
            self.sign_in(actor.auth, token, time.time())
        return result, done_at

    def _request(
        self,
        method: str,
        path: str,
        intended: float,
        t: int | None,
        body: bytes | None,
        token: str | None,
        business: _Business | None = None,
        pool: HttpPool | None = None,
    ) -> tuple[HttpResult, float]:
        if t is None:
            t = self._collector.expect(intended)
        try:
            result = (pool or self._pool).request(method, path, intended + self._timeout_s, body, token)
        except BaseException:
            self._collector.cancel(t)  # killed at shutdown: the second must not wait for it
            raise
        done_at = time.time()
        ok = result.status is not None and 200 <= result.status < 300
        self._collector.record(
            t,
            int((done_at - intended) * 1_000_000),
            result.failure,
            created=ok and business is _Business.CREATED and result.status == 201,
            completed=ok and business is _Business.COMPLETED,
        )
        return result, done_at

    def _log(
        self,
        op: WriteOp,
        todo_id: str,
        actor: Actor,
        intended: float,
        done_at: float,
        result: HttpResult,
        title: str | None,
        done: bool | None,
    ) -> None:
        # Field for field a LedgerRecord (tests read the ledger back through the model); built as a
        # plain dict because this runs for every write at full rate.
        self._ledger.write_line(
            orjson.dumps(
                {
                    "op": op.value,
                    "id": todo_id,
                    "user": actor.auth.username,
                    "sent_at": intended,
                    "completed_at": done_at,
                    "outcome": outcome_for(result.status, result.sent).value,
                    "status": result.status,
                    "title": title,
                    "done": done,
                }
            )
        )
