"""The pool of pre-created test accounts, made and signed in once from the caller's process.

Password hashing is deliberately slow on the service (and Cognito has quotas), so simulated users
share a small pool of accounts whose tokens are obtained here once (in parallel) instead of 10,000
sign-ins. Where the accounts live is the plan's `auth`, which the target decides:

- the bundled service (`BundledAuth`): `/auth/signup` and `/auth/token` on the target. Usernames carry
  the run id, so a run's todos never mix with another run's; the pool is saved in the run directory and
  re-used (sign-up answers 409) if the same run is started again;
- a Cognito user pool (`CognitoAuth`, loadtests.cognito): the drill's own accounts, created with the
  Cognito admin API and reused across runs.

Its first request is the load's preflight: an unreachable target, or one whose TLS certificate is not
trusted, is a TargetError with one clear sentence before any Locust process starts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from common.errors import TargetError
from common.tls import client_context, describe_tls_error, find_tls_error
from loadtests.plan import BundledAuth, CognitoAuth, LoadAuth
from loadtests.session import Account, SignedInAccount
from loadtests.tokens import lifetime

ACCOUNTS_FILE = "accounts.json"
_PARALLEL = 8


class AccountProvider(Protocol):
    """Where a pool's accounts live and how they get their tokens."""

    keeps_passwords: bool  # False: a new password every prepare, never written to the run directory

    def usernames(self, run_id: str, size: int) -> list[str]: ...
    def new_password(self) -> str: ...

    def prepare(self, accounts: list[Account], sign_in: bool) -> list[SignedInAccount]:
        """Make sure every account exists with its password; sign each in unless `sign_in` is False."""

    def sign_in(self, accounts: list[Account]) -> list[SignedInAccount]:
        """Fresh tokens for accounts `prepare` made."""


class BundledAccounts:
    """Accounts of the API's own `/auth/signup` and `/auth/token` (the bundled service)."""

    keeps_passwords = True

    def __init__(self, target_url: str, timeout_s: float, ca_bundle: str | None) -> None:
        self._url = target_url
        self._timeout_s = timeout_s
        self._ca_bundle = ca_bundle

    def usernames(self, run_id: str, size: int) -> list[str]:
        return [f"load-{run_id}-{i:05d}" for i in range(size)]

    def new_password(self) -> str:
        return secrets.token_urlsafe(12)

    def prepare(self, accounts: list[Account], sign_in: bool) -> list[SignedInAccount]:
        return self._each(lambda client, a: self._prepare_one(client, a, sign_in), accounts)

    def sign_in(self, accounts: list[Account]) -> list[SignedInAccount]:
        return self._each(self._signed_in, accounts)

    def _each(self, fn: Callable[[httpx.Client, Account], SignedInAccount],
              accounts: list[Account]) -> list[SignedInAccount]:
        with httpx.Client(base_url=self._url, timeout=self._timeout_s, verify=client_context(self._ca_bundle)) as client:
            with ThreadPoolExecutor(_PARALLEL) as pool:
                return list(pool.map(lambda a: self._guarded(fn, client, a), accounts))

    def _guarded(self, fn: Callable[[httpx.Client, Account], SignedInAccount], client: httpx.Client,
                 account: Account) -> SignedInAccount:
        try:
            return fn(client, account)
        except httpx.HTTPError as exc:
            if find_tls_error(exc) is not None:
                raise unreachable(self._url, exc) from exc
            raise TargetError(f"preparing account {account.username} at {self._url}: {exc}") from exc

    def _prepare_one(self, client: httpx.Client, account: Account, sign_in: bool) -> SignedInAccount:
        creds = {"username": account.username, "password": account.password}
        r = client.post("/auth/signup", json=creds)
        if r.status_code not in (201, 409):
            raise TargetError(f"sign-up of {account.username} answered {r.status_code}: {r.text[:200]}")
        return self._signed_in(client, account) if sign_in else SignedInAccount(**account.model_dump())

    def _signed_in(self, client: httpx.Client, account: Account) -> SignedInAccount:
        r = client.post("/auth/token", json={"username": account.username, "password": account.password})
        if r.status_code != 200:
            raise TargetError(f"sign-in of {account.username} answered {r.status_code}: {r.text[:200]}")
        body = r.json()
        token = body["access_token"]
        return SignedInAccount(username=account.username, password=account.password, token=token,
                               issued_at=time.time(), lifetime_s=lifetime(token, body.get("expires_in")))


def _cognito(auth: CognitoAuth, timeout_s: float) -> AccountProvider:
    from loadtests.cognito import CognitoAccounts  # boto3: imported only where a pool is used

    return CognitoAccounts(auth, timeout_s)


# The plan's `auth` (the target's way of signing in) picks the provider.
_PROVIDERS: dict[type, Callable[..., AccountProvider]] = {
    BundledAuth: lambda auth, url, timeout_s, ca_bundle: BundledAccounts(url, timeout_s, ca_bundle),
    CognitoAuth: lambda auth, url, timeout_s, ca_bundle: _cognito(auth, timeout_s),
}


def provider_for(auth: LoadAuth | None, target_url: str, timeout_s: float,
                 ca_bundle: str | None = None) -> AccountProvider:
    auth = auth or BundledAuth()
    return _PROVIDERS[type(auth)](auth, target_url, timeout_s, ca_bundle)


class _SavedPool(BaseModel):
    run_id: str
    accounts: list[Account]


class AccountPool:
    def __init__(self, target_url: str, run_dir: Path, size: int, timeout_s: float = 30.0,
                 ca_bundle: str | None = None, auth: LoadAuth | None = None,
                 provider: AccountProvider | None = None) -> None:
        self._url = target_url.rstrip("/")
        self._ca_bundle = ca_bundle
        self._path = run_dir / ACCOUNTS_FILE
        self._size = size
        self._timeout_s = timeout_s
        self._provider = provider or provider_for(auth, self._url, timeout_s, ca_bundle)
        saved = self._load()
        self.run_id = saved.run_id
        self.accounts = saved.accounts

    def _load(self) -> _SavedPool:
        provider = self._provider
        run_id = secrets.token_hex(4)
        if self._path.exists():
            saved = _SavedPool.model_validate_json(self._path.read_text())
            run_id = saved.run_id
            if len(saved.accounts) >= self._size and provider.keeps_passwords:
                return _SavedPool(run_id=run_id, accounts=saved.accounts[: self._size])
        password = provider.new_password()
        accounts = [Account(username=name, password=password) for name in provider.usernames(run_id, self._size)]
        # A provider that sets the password anew every run keeps it out of the run directory (CI uploads it).
        kept = accounts if provider.keeps_passwords else [Account(username=a.username, password="") for a in accounts]
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(_SavedPool(run_id=run_id, accounts=kept).model_dump_json(indent=1))
        return _SavedPool(run_id=run_id, accounts=accounts)

    def prepare(self, sign_in: bool = True) -> list[SignedInAccount]:
        """Make every account (sign-up, or the Cognito admin API) and, unless `sign_in` is False, sign it in."""
        self._check_reachable()
        return self._provider.prepare(self.accounts, sign_in)

    def sign_in(self) -> list[SignedInAccount]:
        """Fresh tokens for the pool's accounts, e.g. to read back after a load that outlived the first ones."""
        return self._provider.sign_in(self.accounts)

    def _check_reachable(self) -> None:
        # Any answer will do (a Cognito-protected API may say 401/403): this is about the connection and TLS.
        with httpx.Client(base_url=self._url, timeout=self._timeout_s, verify=client_context(self._ca_bundle)) as client:
            try:
                client.get("/health")
            except httpx.HTTPError as exc:
                raise unreachable(self._url, exc) from exc


def unreachable(url: str, exc: httpx.HTTPError) -> TargetError:
    tls = find_tls_error(exc)
    if tls is not None:
        return TargetError(describe_tls_error(urlsplit(url).hostname or url, tls))
    return TargetError(f"cannot reach the target {url}: {exc}")
