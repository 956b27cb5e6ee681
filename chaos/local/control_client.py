"""HTTP client of the bundled service's control API (docs/control-api.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from common.errors import ProviderError, TargetError
from service.control.token import TOKEN_FILE
from service.regions.layout import READY_FILE, DeploymentReady


class ControlClient:
    """Talks to one bundled service. Built from its data directory: ready.json + admin.token."""

    def __init__(self, control_url: str, token: str, timeout_s: float = 30.0) -> None:
        self.control_url = control_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.control_url,
            headers={"authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    @classmethod
    def from_data_dir(cls, data_dir: str | Path) -> "ControlClient":
        """The service's own description of itself: its ready file and its admin token."""
        root = Path(data_dir)
        ready = DeploymentReady.read(root)
        if ready is None:
            raise TargetError(f"no running bundled service in {root}: {root / READY_FILE} is missing or unreadable")
        try:
            token = (root / TOKEN_FILE).read_text().strip()
        except OSError as exc:
            raise TargetError(f"cannot read the bundled service's admin token in {root}: {exc}") from None
        return cls(ready.control_url, token)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.request(method, path, json=body, params=query or None)
        except httpx.HTTPError as exc:
            raise TargetError(f"control API {method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                detail = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                detail = response.text[:200]
            raise ProviderError(f"control API {method} {path} -> {response.status_code} {detail}")
        return response.json() if response.content else {}

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, **params)

    def put(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        return self.request("PUT", path, body, **params)

    def post(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        return self.request("POST", path, body, **params)

    def delete(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("DELETE", path, **params)

    def close(self) -> None:
        self._http.close()
