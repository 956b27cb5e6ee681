"""The control API (docs/control-api.md): a small ASGI app, loopback only, admin token required.

Routes live in `function_routes`, `table_routes` and `region_routes`; this module does
what they share: matching, the bearer check, JSON in and out, errors as
`{"error": {"code", "message"}}`. It runs in the supervisor, never in a worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ValidationError

from service.control.context import ControlContext
from service.control.errors import BadRequest, ControlError
from service.control.token import AdminToken

_log = logging.getLogger("service.control")
MAX_BODY = 64 * 1024
M = TypeVar("M", bound=BaseModel)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes

    @property
    def region(self) -> str | None:
        return self.query.get("region") or None

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        return data

    def model(self, model: type[M]) -> M:
        try:
            return model.model_validate(self.json())
        except ValidationError as exc:
            raise BadRequest(first_error(exc)) from None


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


Answer = tuple[int, Any]
Handler = Callable[[ControlContext, Request], Awaitable[Answer]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, path: str, handler: Handler) -> Route:
    """`path` with `{name}` segments, e.g. /control/function/faults/{kind}."""
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"
    return Route(method, re.compile(regex), handler)


class ControlApi:
    def __init__(self, context: ControlContext, token: AdminToken, routes: list[Route] | None = None) -> None:
        self.context = context
        self.token = token
        if routes is None:
            from service.control import function_routes, region_routes, table_routes

            routes = [*function_routes.ROUTES, *table_routes.ROUTES, *region_routes.ROUTES]
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, payload = await self._answer(scope, receive)
        body = b"" if payload is None else orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict[str, Any], receive: Any) -> Answer:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.token.accepts(headers.get("authorization")):
            return 401, {"error": {"code": "unauthorized", "message": "admin token required (Bearer)"}}
        method, path = scope["method"], scope["path"]
        allowed: list[str] = []
        for candidate in self.routes:
            match = candidate.pattern.match(path)
            if match is None:
                continue
            if candidate.method != method:
                allowed.append(candidate.method)
                continue
            try:
                body = await _read_body(receive)
                query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
                request = Request(method, path, match.groupdict(), query, body)
                return await candidate.handler(self.context, request)
            except ControlError as exc:
                return exc.status, exc.body()
            except Exception as exc:  # noqa: BLE001 - a bug or an I/O failure: an answer, and the traceback in the log
                _log.exception("control API %s %s failed", method, path)
                return 500, {"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}}
        if allowed:
            return 405, {"error": {"code": "method_not_allowed", "message": f"allowed: {', '.join(allowed)}"}}
        return 404, {"error": {"code": "not_found", "message": f"no control endpoint {path}"}}


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(f"body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
