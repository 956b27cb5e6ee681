"""Lazily created boto3 clients, and the single entry point for every AWS call.

Nothing here talks to AWS until the first `call`: constructing a provider (for
`plan` or `validate`) must work without credentials or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chaos.aws.errors import AwsApiError, translate
from chaos.aws.limits import check_call

# Standard retry mode backs off on throttling; drills make few calls, so a short budget is fine.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60)


@dataclass(frozen=True)
class CallRecord:
    """One AWS API call as it was made (for tests, logs and the plan/inject cross-check)."""

    api: str  # "lambda:UpdateAlias"
    region: str
    params: dict[str, Any]


class AwsClients:
    def __init__(self, session: boto3.Session | None, default_region: str) -> None:
        self._session = session
        self.default_region = default_region
        self._clients: dict[tuple[str, str, str | None], Any] = {}
        self.calls: list[CallRecord] = []

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = boto3.Session()
        return self._session

    def client(self, service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
        key = (service, region or self.default_region, endpoint_url)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=endpoint_url, config=_CONFIG
            )
        return self._clients[key]

    def install(self, service: str, client: Any, region: str | None = None, endpoint_url: str | None = None) -> None:
        """Use this client (e.g. one wrapped by botocore's Stubber) for `service` in `region`."""
        self._clients[(service, region or self.default_region, endpoint_url)] = client

    def call(
        self,
        service: str,
        method: str,
        region: str | None = None,
        *,
        endpoint_url: str | None = None,
        ignore: Iterable[str] = (),
        **params: Any,
    ) -> dict[str, Any] | None:
        """Call `client.method(**params)`. Errors whose code is in `ignore` return None (idempotent deletes).

        A name or value AWS's documented rules refuse (`chaos.aws.limits`) raises AwsLimitError first."""
        client = self.client(service, region, endpoint_url)
        api = api_name(client, service, method)
        check_call(api, params)
        self.calls.append(CallRecord(api, region or self.default_region, params))
        try:
            return getattr(client, method)(**params)
        except (ClientError, BotoCoreError) as exc:
            err = translate(api, exc)
            if err.code in set(ignore):
                return None
            raise err from exc

    def paginate(self, service: str, method: str, region: str | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        client = self.client(service, region)
        api = api_name(client, service, method)
        check_call(api, params)
        self.calls.append(CallRecord(api, region or self.default_region, params))
        try:
            yield from client.get_paginator(method).paginate(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate(api, exc) from exc

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
        self._clients.clear()


def api_name(client: Any, service: str, method: str) -> str:
    mapping = getattr(client.meta, "method_to_api_mapping", {})
    return f"{service}:{mapping.get(method, method)}"


__all__ = ["AwsApiError", "AwsClients", "CallRecord"]
