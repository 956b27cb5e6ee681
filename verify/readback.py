"""Read back every account's todos after recovery, over the service's public HTTP API.

Each pool account signs in (POST /auth/token), or uses the bearer token the load
gives it (an aws target's accounts sign in with Cognito, not at the API), lists all
its todos with cursor pagination (GET /todos), then fetches one by one
(GET /todos/{id}) every id the ledger knows that no list page showed: a list cannot
vouch for an absence (a page that failed, or a cursor that skipped), a 404 on the
item can. With the load's id prefix, listed todos of earlier runs (a reused account
keeps them) are left out: they are not this run's writes, nor unexpected ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from pydantic import ValidationError

from common.errors import TargetError
from common.tls import client_context
from loadtests.records import LedgerRecord
from verify.integrity import (
    Observation,
    ObservedItem,
    ReadStatus,
    check_integrity,
    ledger_ids,
)
from verify.journal import LedgerSummary

_RETRYABLE = {429, 500, 502, 503, 504}
READ_PARALLELISM = 8


def _parse(user: str, body: object) -> ObservedItem:
    if not isinstance(body, dict):
        return ObservedItem(user=user, id="?", status=ReadStatus.UNREADABLE, error="not a JSON object")
    item_id = str(body.get("id", "?"))
    title, done = body.get("title"), body.get("done")
    if not isinstance(title, str) or not isinstance(done, bool):
        return ObservedItem(user=user, id=item_id, status=ReadStatus.UNREADABLE, error="malformed todo")
    try:
        return ObservedItem(user=user, id=item_id, status=ReadStatus.PRESENT, title=title, done=done)
    except ValidationError as exc:
        return ObservedItem(user=user, id=item_id, status=ReadStatus.UNREADABLE, error=str(exc)[:200])


class _Reader:
    def __init__(self, client: httpx.Client, retries: int, backoff_s: float) -> None:
        self.client = client
        self.retries = retries
        self.backoff_s = backoff_s

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        """Retry transient failures; a target that stays unreachable is a TargetError."""
        last: Exception | None = None
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code not in _RETRYABLE:
                return response
        if response is not None:
            return response
        raise TargetError(f"read-back: {method} {url} failed: {last!r}")

    def sign_in(self, username: str, password: str) -> None:
        response = self.request("POST", "/auth/token", json={"username": username, "password": password})
        if response.status_code != 200:
            raise TargetError(f"read-back: account {username!r} cannot sign in: HTTP {response.status_code} {response.text[:200]}")
        self.use_token(response.json()["access_token"])

    def use_token(self, token: str) -> None:
        self.client.headers["Authorization"] = f"Bearer {token}"

    def list_all(self, user: str, page_size: int) -> tuple[list[ObservedItem], bool]:
        """All items from list pages, and whether the listing completed."""
        items: list[ObservedItem] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = self.request("GET", "/todos", params=params)
            if response.status_code != 200:
                return items, False
            body = response.json()
            items.extend(_parse(user, raw) for raw in body.get("items", []))
            cursor = body.get("next_cursor")
            if not cursor:
                return items, True

    def get_one(self, user: str, item_id: str) -> ObservedItem:
        response = self.request("GET", f"/todos/{item_id}")
        if response.status_code == 404:
            return ObservedItem(user=user, id=item_id, status=ReadStatus.ABSENT)
        if response.status_code == 200:
            try:
                item = _parse(user, response.json())
            except ValueError:
                item = ObservedItem(user=user, id=item_id, status=ReadStatus.UNREADABLE, error="invalid JSON")
            return item.model_copy(update={"id": item_id}) if item.id == "?" else item
        if response.status_code >= 500:
            return ObservedItem(
                user=user, id=item_id, status=ReadStatus.UNREADABLE, error=f"HTTP {response.status_code}"
            )
        raise TargetError(f"read-back: GET /todos/{item_id} as {user!r}: HTTP {response.status_code}")


def read_back(
    base_url: str,
    accounts: Sequence[tuple[str, str]],
    probe: Mapping[str, Iterable[str]] | None = None,
    *,
    timeout_s: float = 10.0,
    page_size: int = 100,
    retries: int = 3,
    backoff_s: float = 0.2,
    ca_bundle: str | None = None,
    tokens: Mapping[str, str] | None = None,
    id_prefix: str | None = None,
) -> Observation:
    """Everything the accounts can read now. `probe`: per username, the ids the ledger wrote.
    `ca_bundle`: an https target's private CA (the load's). `tokens`: a bearer token per username, signed
    in the load's way (Cognito on an aws target), used instead of POST /auth/token. `id_prefix`: only
    listed todos whose id begins with it (this run's; an item whose id could not be read is kept)."""
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be 1..100 (the API's limit)")
    tls = client_context(ca_bundle)  # one for every account's client
    if tokens is not None and (missing := sorted({name for name, _ in accounts} - set(tokens))):
        raise TargetError(f"read-back: no token for account(s) {', '.join(missing[:5])}: the load could not sign them in")

    def read_account(account: tuple[str, str]) -> tuple[str, list[ObservedItem], int]:
        username, password = account
        with httpx.Client(base_url=base_url, timeout=timeout_s, verify=tls) as client:
            reader = _Reader(client, retries, backoff_s)
            if tokens is not None:
                reader.use_token(tokens[username])
            else:
                reader.sign_in(username, password)
            listed, _complete = reader.list_all(username, page_size)
            if id_prefix:
                listed = [item for item in listed if item.id.startswith(id_prefix) or item.id == "?"]
            seen = {item.id for item in listed}
            probed = [reader.get_one(username, i) for i in sorted(set((probe or {}).get(username, ())) - seen)]
            return username, listed + probed, len(listed)

    observation = Observation()
    # Accounts are independent: read them side by side, so a slow target (a fault still in effect)
    # costs the slowest account's time, not the sum of all of them.
    with ThreadPoolExecutor(max_workers=min(READ_PARALLELISM, max(len(accounts), 1))) as pool:
        for username, items, listed in pool.map(read_account, accounts):
            observation.items.extend(items)
            observation.listed += listed
            observation.probed += len(items) - listed
            observation.users.append(username)
    return observation


def verify_writes(
    base_url: str,
    accounts: Sequence[tuple[str, str]],
    records: Sequence[LedgerRecord],
    fault_at: float | None,
    preexisting: Iterable[tuple[str, str]] = (),
    ca_bundle: str | None = None,
) -> LedgerSummary:
    """Read back every account, probing each id the ledger wrote, and judge the ledger against it."""
    observed = read_back(base_url, accounts, probe=ledger_ids(records), ca_bundle=ca_bundle)
    return check_integrity(records, observed, fault_at, preexisting)
