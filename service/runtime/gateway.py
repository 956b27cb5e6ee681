"""The ASGI app playing API Gateway in front of the functions.

No framework on the hot path: match the route, read the body (16 KiB cap), run the
authorizer, build the proxy event, invoke the function (its `Invoker`),
send the answer, then count it and write its log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from service.api.routes import Integration, Router
from service.proxy import JSON_HEADERS, ApiError, ProxyResponse, error_response, json_response
from service.runtime.authorizer import JwtAuthorizer
from service.runtime.events import build_event
from service.runtime.function import ErrorDetail, Invoker
from service.runtime.metrics import UNMATCHED, Metrics
from service.runtime.request_log import RequestLog

MAX_BODY_BYTES = 16 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_WARN_STATUSES = frozenset({401, 403, 429})
_JSON_CONTENT_TYPE = (b"content-type", JSON_HEADERS["content-type"].encode())
_log = logging.getLogger("service.gateway")

Hook = Callable[[], None]


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class Gateway:
    def __init__(
        self,
        *,
        router: Router,
        functions: Mapping[str, Invoker],
        authorizer: JwtAuthorizer,
        log: RequestLog,
        metrics: Metrics,
        openapi: bytes,
        log_flush_s: float = 0.2,
        snapshot_s: float = 1.0,
    ) -> None:
        self.router = router
        self.functions = functions
        self.authorizer = authorizer
        self.log = log
        self.metrics = metrics
        self._openapi = openapi
        self._log_flush_s = log_flush_s
        self._snapshot_s = snapshot_s
        self._startup_hooks: list[Hook] = []
        self._shutdown_hooks: list[Hook] = []
        self._housekeeping: asyncio.Task[None] | None = None
        # Request ids look like UUIDs: a random per-process prefix and a counter (cheaper than uuid4).
        self._rid_prefix = str(uuid.uuid4())[:24]
        self._rid_counter = itertools.count(1)

    def on_startup(self, hook: Hook) -> None:
        self._startup_hooks.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        self._shutdown_hooks.append(hook)

    # ---- lifecycle ------------------------------------------------------------------------

    async def startup(self) -> None:
        self._housekeeping = asyncio.get_running_loop().create_task(self._keep_house())
        for hook in self._startup_hooks:
            hook()
        # Everything built so far lives as long as the worker: keep it out of the collector's
        # full passes, which would otherwise rescan all modules' objects every few hundred requests.
        gc.collect()
        gc.freeze()

    async def shutdown(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        self.log.flush()
        self.metrics.save_snapshot()
        for runtime in self.functions.values():
            runtime.close()
        for hook in self._shutdown_hooks:
            hook()
        self.log.close()

    async def _keep_house(self) -> None:
        next_snapshot = 0.0
        while True:
            await asyncio.sleep(self._log_flush_s)
            try:
                self.log.flush()
                now = time.monotonic()
                if now >= next_snapshot:
                    self.metrics.save_snapshot()
                    next_snapshot = now + self._snapshot_s
            except OSError:
                _log.exception("housekeeping failed")  # e.g. disk full: keep serving

    async def _lifespan(self, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- requests -------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # HTTP is handled right here, not in a method of its own: one coroutine less per request.
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = f"{self._rid_prefix}{next(self._rid_counter) & 0xFFFFFFFFFFFF:012x}"
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:  # a loop, not a comprehension: no function call
            headers[name.decode("latin-1")] = value.decode("latin-1")
        client = scope.get("client")
        source_ip = client[0] if client else ""
        route, path_params, allowed = self.router.match(method, path)
        context = None
        error: ErrorDetail | None = None
        label = UNMATCHED
        operation = "gateway"
        try:
            if route is None:
                if allowed:
                    response = error_response(405, "method_not_allowed", f"{method} is not allowed here",
                                              {"allow": ", ".join(allowed)})
                else:
                    response = error_response(404, "not_found", f"no route for {path}")
            else:
                label = route.resource
                operation = route.operation
                body = await self._read_body(headers, receive) if method in _BODY_METHODS else b""
                if route.integration is Integration.GATEWAY:
                    response = self._local(route.operation)
                else:
                    claims = self.authorizer.authorize(headers.get("authorization")).as_dict() if route.auth else None
                    event = build_event(
                        route=route, path=path, path_params=path_params,
                        query_string=scope.get("query_string", b""), headers=headers, body=body,
                        request_id=request_id, source_ip=source_ip, claims=claims,
                    )
                    runtime = self.functions[route.integration]
                    invocation = await runtime.invoke(event)
                    response, context, error = invocation.response, invocation.context, invocation.error
                    self.metrics.invocation(runtime.config.function_name, runtime.config.version,
                                            failed=invocation.error is not None
                                            and response["statusCode"] in (500, 502))
        except ApiError as exc:
            response = exc.response()
        except _TooLarge:
            response = error_response(413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
        except _Disconnected:
            return
        except Exception as exc:  # a bug in the runtime itself: still one answer and one log line
            error = ErrorDetail.from_exception(exc)
            _log.exception("gateway failure")
            response = error_response(500, "internal_error", "internal error")
        start, body_message = self._response_messages(response, request_id)
        await send(start)
        await send(body_message)
        status = start["status"]
        elapsed = time.perf_counter() - started
        self.metrics.observe(label, method, status, elapsed)
        metadata: dict[str, object] = {
            "ip": source_ip,
            "userAgent": headers.get("user-agent"),
            "method": method,
            "path": path,
            "status": status,
            "latencyMs": int(elapsed * 1_000_000) / 1000,  # round() would format through a string
        }
        level = "ERROR" if status >= 500 else "WARN" if status in _WARN_STATUSES else "INFO"
        message = f"{method} {path} {status}"
        user_id = None
        if context is not None:
            user_id = context.user_id
            level = context.log_level or level
            message = context.log_message or message
            if context.log_extra:
                metadata.update(context.log_extra)
            metadata["functionVersion"] = context.config.version  # the property would cost a call
        self.log.write(level=level, function=operation, user_id=user_id, request_id=request_id,
                       message=message, error=error, metadata=metadata)

    async def _read_body(self, headers: dict[str, str], receive: Any) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _local(self, operation: str) -> ProxyResponse:
        if operation == "metrics":
            return {"statusCode": 200, "headers": {"content-type": "text/plain; version=0.0.4; charset=utf-8"},
                    "body": self.metrics.render(), "isBase64Encoded": False}
        if operation == "openapi":
            return {"statusCode": 200, "headers": {"content-type": "application/json"},
                    "body": self._openapi.decode(), "isBase64Encoded": False}
        return json_response(404, {"error": {"code": "not_found", "message": operation}})

    @staticmethod
    def _response_messages(response: ProxyResponse, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The proxy response as ASGI's two messages (built here, sent by the caller: one
        coroutine less per request)."""
        status = response["statusCode"]
        body = response.get("body") or ""
        if response.get("isBase64Encoded"):
            payload = base64.b64decode(body)
        else:
            payload = body.encode() if isinstance(body, str) else bytes(body)
        raw_headers = [(b"x-amzn-requestid", request_id.encode())]
        headers = response.get("headers")
        if headers is JSON_HEADERS:  # the common case, encoded once
            raw_headers.append(_JSON_CONTENT_TYPE)
        elif headers:
            for name, value in headers.items():
                if name.lower() != "content-length":
                    raw_headers.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
        if status == 204 or status == 304:
            payload = b""
        else:
            raw_headers.append((b"content-length", b"%d" % len(payload)))
        return ({"type": "http.response.start", "status": status, "headers": raw_headers},
                {"type": "http.response.body", "body": payload})
