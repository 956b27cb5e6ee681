"""The load's accounts in a Cognito user pool, managed from the harness process with boto3.

Never imported by a Locust process (`import locust` monkey-patches with gevent, a hazard for boto3):
the workers renew tokens over plain HTTPS instead (loadtests.signin).

- **Create or reuse**: `AdminCreateUser` of `<prefix><n>` (MessageAction=SUPPRESS: no invitation goes
  out); an account an earlier run created (`UsernameExistsException`) is reused. Then
  `AdminSetUserPassword(Permanent=True)` with this run's password, so the account is CONFIRMED and
  signs in without a NEW_PASSWORD_REQUIRED challenge. Reuse across runs keeps the pool (and Cognito's
  monthly-active-user bill) at the pool size; each run's todo ids still carry its run id.
- **Sign in**: `InitiateAuth` USER_PASSWORD_AUTH through the app client the API's authorizer trusts,
  as a real client would (the admin flow would need ALLOW_ADMIN_USER_PASSWORD_AUTH and IAM rights the
  workers do not have). Its refresh token goes to the workers, which renew with REFRESH_TOKEN_AUTH.
- **Preflight**: `DescribeUserPoolClient` tells before any account is touched whether the client allows
  USER_PASSWORD_AUTH and refresh, and has no secret (the load signs in as a public client). Without
  the right to describe it, the first sign-in's error says the same.
- **Remove**: `remove_drill_accounts` deletes the prefix's accounts (`hanbit-drill cleanup --target`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from common.errors import TargetError
from loadtests.cognito_wire import challenge_of, tokens_from
from loadtests.plan import CognitoAuth
from loadtests.session import Account, SignedInAccount
from loadtests.tokens import Tokens

_PARALLEL = 8
# Cognito's default quotas (e.g. 25-50 admin writes per second per account) are easily met by 8 threads
# at once: throttled calls are retried with backoff rather than failing the run's preflight.
_RETRIES = {"mode": "standard", "max_attempts": 10}
_PASSWORD_FLOWS = {"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"}
_T = TypeVar("_T")


def cognito_client(auth: CognitoAuth, timeout_s: float = 30.0) -> Any:
    """A cognito-idp client for the pool's region (credentials from the environment, as for every AWS call)."""
    config = Config(retries=_RETRIES, connect_timeout=timeout_s, read_timeout=timeout_s,  # type: ignore[arg-type]
                    max_pool_connections=_PARALLEL)
    return boto3.session.Session().client("cognito-idp", region_name=auth.pool_region,
                                          endpoint_url=auth.endpoint_url, config=config)


def new_password() -> str:
    """A password that meets any Cognito password policy up to 40 characters: upper and lower case, a
    digit and a symbol are always in it. New every run: nothing on disk signs in to the pool."""
    return "Hd7-" + secrets.token_urlsafe(27)


class CognitoAccounts:
    """The account provider for a Cognito pool (see loadtests.accounts.AccountPool)."""

    keeps_passwords = False  # AdminSetUserPassword sets a new one every run

    def __init__(self, auth: CognitoAuth, timeout_s: float = 30.0, client: Any | None = None) -> None:
        self.auth = auth
        self._client = client if client is not None else cognito_client(auth, timeout_s)
        self._where = f"user pool {auth.user_pool_id} ({auth.pool_region})"

    def usernames(self, run_id: str, size: int) -> list[str]:
        # The same names every run (not the run id): the accounts are reused.
        return [f"{self.auth.username_prefix}{i:05d}" for i in range(size)]

    def new_password(self) -> str:
        return new_password()

    def prepare(self, accounts: list[Account], sign_in: bool) -> list[SignedInAccount]:
        """Create (or reuse) every account with its password and, unless `sign_in` is False, sign it in."""
        self.preflight()

        def one(account: Account) -> SignedInAccount:
            self.ensure(account)
            return self._signed_in(account) if sign_in else SignedInAccount(**account.model_dump())

        return self._each(one, accounts)

    def sign_in(self, accounts: list[Account]) -> list[SignedInAccount]:
        """Fresh tokens for accounts `prepare` made (e.g. to read back what the load wrote)."""
        return self._each(self._signed_in, accounts)

    def preflight(self) -> None:
        """Refuse an app client the load cannot sign in through, with what to change."""
        try:
            client = self._call("describe_user_pool_client", UserPoolId=self.auth.user_pool_id,
                                ClientId=self.auth.client_id)["UserPoolClient"]
        except _Denied:
            return  # may not describe it: the first InitiateAuth tells what is wrong
        flows = set(client.get("ExplicitAuthFlows") or [])
        problems = []
        if not flows & _PASSWORD_FLOWS:
            problems.append("does not allow USER_PASSWORD_AUTH (add ALLOW_USER_PASSWORD_AUTH to its ExplicitAuthFlows)")
        if any(f.startswith("ALLOW_") for f in flows) and "ALLOW_REFRESH_TOKEN_AUTH" not in flows:
            problems.append("does not allow refreshing tokens (add ALLOW_REFRESH_TOKEN_AUTH to its ExplicitAuthFlows)")
        if client.get("ClientSecret"):
            problems.append("has a client secret (the load signs in as a public client does: use an app client "
                            "created without a secret)")
        if problems:
            raise TargetError(f"app client {self.auth.client_id} of {self._where} " + "; ".join(problems)
                              + ": the load signs its accounts in through it")

    def ensure(self, account: Account) -> None:
        """The account exists with `account.password`, confirmed."""
        try:
            self._call("admin_create_user", UserPoolId=self.auth.user_pool_id, Username=account.username,
                       MessageAction="SUPPRESS")
        except _Exists:
            pass  # an earlier run's: reused
        self._call("admin_set_user_password", UserPoolId=self.auth.user_pool_id, Username=account.username,
                   Password=account.password, Permanent=True)

    def tokens(self, username: str, password: str) -> Tokens:
        answer = self._call("initiate_auth", AuthFlow="USER_PASSWORD_AUTH", ClientId=self.auth.client_id,
                            AuthParameters={"USERNAME": username, "PASSWORD": password})
        tokens = tokens_from(answer, self.auth.token)
        if tokens is None:
            challenge = challenge_of(answer) or "no tokens"
            raise TargetError(f"signing {username} in to {self._where} asks for {challenge}: the load's accounts "
                              f"need plain password sign-in (MFA off or optional for them)")
        return tokens

    def _signed_in(self, account: Account) -> SignedInAccount:
        tokens = self.tokens(account.username, account.password)
        return SignedInAccount(username=account.username, password=account.password, token=tokens.token,
                               refresh_token=tokens.refresh_token, issued_at=time.time(), lifetime_s=tokens.lifetime_s)

    def _each(self, fn: Callable[[Account], _T], accounts: list[Account]) -> list[_T]:
        with ThreadPoolExecutor(_PARALLEL) as pool:
            return list(pool.map(fn, accounts))

    def _call(self, operation: str, **params: Any) -> Any:
        return call(self._client, self.auth, operation, **params)


class _Denied(TargetError):
    """The harness may not make this call (IAM)."""


class _Exists(TargetError):
    """AdminCreateUser of an account that is already there."""


_DENIED = {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "ExpiredTokenException",
           "InvalidClientTokenId"}


def call(client: Any, auth: CognitoAuth, operation: str, **params: Any) -> Any:
    """One cognito-idp call; every failure a TargetError that says what to fix."""
    where = f"user pool {auth.user_pool_id} ({auth.pool_region})"
    api = "".join(part.capitalize() for part in operation.split("_"))
    try:
        return getattr(client, operation)(**params)
    except NoCredentialsError:
        raise TargetError(f"Cognito {api}: no AWS credentials (AWS_PROFILE, or a role in CI)") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        user = params.get("Username") or params.get("AuthParameters", {}).get("USERNAME")
        if code == "UsernameExistsException":
            raise _Exists(message) from None
        if code in _DENIED:
            raise _Denied(f"Cognito {api} on {where} was refused ({code}: {message}): the harness needs "
                          f"cognito-idp:{api} on the pool (docs/aws.md)") from None
        if code == "ResourceNotFoundException":
            raise TargetError(f"Cognito {api}: {message or 'not found'} (the target's cognito: names "
                              f"{where}, app client {auth.client_id})") from None
        if operation == "initiate_auth" and code in ("InvalidParameterException", "NotAuthorizedException") and (
                "flow" in message.lower() or "secret" in message.lower()):
            raise TargetError(f"app client {auth.client_id} of {where} refused USER_PASSWORD_AUTH ({message}): allow "
                              f"ALLOW_USER_PASSWORD_AUTH and ALLOW_REFRESH_TOKEN_AUTH on an app client without a "
                              f"secret; the load signs its accounts in through it") from None
        if code == "InvalidPasswordException":
            raise TargetError(f"{where} refused the load's generated password for {user}: {message}") from None
        about = f" for {user}" if user else ""
        raise TargetError(f"Cognito {api}{about} on {where}: {code}: {message}") from None
    except BotoCoreError as exc:  # endpoint unreachable, timeouts after the retries
        raise TargetError(f"Cognito {api} on {where}: {exc}") from None


def drill_accounts(auth: CognitoAuth, client: Any | None = None) -> list[str]:
    """The usernames of the pool's accounts that begin with the drill's prefix (and no other)."""
    client = client if client is not None else cognito_client(auth)
    prefix = auth.username_prefix
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"UserPoolId": auth.user_pool_id, "Filter": f'username ^= "{prefix}"'}
        if token:
            params["PaginationToken"] = token
        page = call(client, auth, "list_users", **params)
        # Checked again here: the filter is the service's, the promise to touch nothing else is ours.
        names += [u["Username"] for u in page.get("Users", []) if u.get("Username", "").startswith(prefix)]
        token = page.get("PaginationToken")
        if not token:
            return names


def remove_drill_accounts(auth: CognitoAuth, client: Any | None = None) -> list[str]:
    """Delete the pool's accounts whose username begins with the drill's prefix (and no other), e.g. for
    `hanbit-drill cleanup --target staging`. Returns their usernames. A drill using them at the same
    time loses them: run it when no load runs against the pool (cleanup holds the target's lease)."""
    client = client if client is not None else cognito_client(auth)
    names = drill_accounts(auth, client)  # every page first: deleting while paging may shift what the next holds
    removed = []
    for name in names:
        try:
            call(client, auth, "admin_delete_user", UserPoolId=auth.user_pool_id, Username=name)
        except TargetError as exc:
            if "UserNotFoundException" not in str(exc):
                raise
            continue  # gone meanwhile
        removed.append(name)
    return removed
