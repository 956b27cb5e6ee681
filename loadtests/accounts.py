"""The pool of pre-created test accounts, signed up and signed in once from the caller's process.

Password hashing is deliberately slow on the service, so simulated users share a small pool of
accounts whose tokens are obtained here once (in parallel) instead of 10,000 sign-ins. Usernames carry
the run id, so a run's todos never mix with another run's; the pool is saved in the run directory and
re-used (sign-up answers 409) if the same run is started again.

Its first request is the load's preflight: an unreachable target, or one whose TLS certificate is not
trusted, is a TargetError with one clear sentence before any Locust process starts.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from common.errors import TargetError
from common.tls import client_context, describe_tls_error, find_tls_error
from loadtests.session import Account, SignedInAccount

ACCOUNTS_FILE = "accounts.json"
_PARALLEL = 8


class _SavedPool(BaseModel):
    run_id: str
    accounts: list[Account]


class AccountPool:
    def __init__(self, target_url: str, run_dir: Path, size: int, timeout_s: float = 30.0,
                 ca_bundle: str | None = None) -> None:
        self._url = target_url.rstrip("/")
        self._ca_bundle = ca_bundle
        self._path = run_dir / ACCOUNTS_FILE
        self._size = size
        self._timeout_s = timeout_s
        saved = self._load()
        self.run_id = saved.run_id
        self.accounts = saved.accounts

    def _load(self) -> _SavedPool:
        if self._path.exists():
            saved = _SavedPool.model_validate_json(self._path.read_text())
            if len(saved.accounts) >= self._size:
                return _SavedPool(run_id=saved.run_id, accounts=saved.accounts[: self._size])
            run_id = saved.run_id
        else:
            run_id = secrets.token_hex(4)
        password = secrets.token_urlsafe(12)
        accounts = [Account(username=f"load-{run_id}-{i:05d}", password=password) for i in range(self._size)]
        saved = _SavedPool(run_id=run_id, accounts=accounts)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(saved.model_dump_json(indent=1))
        return saved

    def prepare(self, sign_in: bool = True) -> list[SignedInAccount]:
        """Sign every account up (409 = already there) and, unless `sign_in` is False, in."""
        with httpx.Client(base_url=self._url, timeout=self._timeout_s, verify=client_context(self._ca_bundle)) as client:
            self._check_reachable(client)
            with ThreadPoolExecutor(_PARALLEL) as pool:
                return list(pool.map(lambda a: self._prepare_one(client, a, sign_in), self.accounts))

    def _check_reachable(self, client: httpx.Client) -> None:
        try:
            client.get("/health")
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _prepare_one(self, client: httpx.Client, account: Account, sign_in: bool) -> SignedInAccount:
        creds = {"username": account.username, "password": account.password}
        try:
            r = client.post("/auth/signup", json=creds)
            if r.status_code not in (201, 409):
                raise TargetError(f"sign-up of {account.username} answered {r.status_code}: {r.text[:200]}")
            token = None
            if sign_in:
                r = client.post("/auth/token", json=creds)
                if r.status_code != 200:
                    raise TargetError(f"sign-in of {account.username} answered {r.status_code}: {r.text[:200]}")
                token = r.json()["access_token"]
        except httpx.HTTPError as exc:
            if find_tls_error(exc) is not None:
                raise self._unreachable(exc) from exc
            raise TargetError(f"preparing account {account.username} at {self._url}: {exc}") from exc
        return SignedInAccount(username=account.username, password=account.password, token=token)

    def _unreachable(self, exc: httpx.HTTPError) -> TargetError:
        tls = find_tls_error(exc)
        if tls is not None:
            return TargetError(describe_tls_error(urlsplit(self._url).hostname or self._url, tls))
        return TargetError(f"cannot reach the target {self._url}: {exc}")
