"""A tiny stand-in of the todo service contract (docs/service-api.md), for the load runner's tests only.

It can be told to stall (every request waits until the stall ends) or to fail (answer a status), so
the tests can see the runner's view of a target misbehaving. Benchmarks never use it.

Run: python tests/loadtests/fake_service.py PORT
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from typing import Any

import orjson
import uvicorn

Scope = dict[str, Any]


class FakeTodoService:
    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # token -> username
        self.todos: dict[str, dict[str, dict[str, Any]]] = {}
        self.stall_until = 0.0
        self.fail_status = 0
        self.fail_until = 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        status, payload = await self.handle(scope, body)
        data = b"" if payload is None else orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def handle(self, scope: Scope, body: bytes) -> tuple[int, Any]:
        method, path = scope["method"], scope["path"]
        query = scope["query_string"].decode()
        if path == "/__control/stall":
            self.stall_until = time.time() + float(query.split("=")[1])
            return 200, {"stall_until": self.stall_until}
        if path == "/__control/fail":
            status, seconds = query.split("&")
            self.fail_status = int(status.split("=")[1])
            self.fail_until = time.time() + float(seconds.split("=")[1])
            return 200, {}
        if path == "/health":
            return 200, {"status": "ok"}
        while time.time() < self.stall_until:
            await asyncio.sleep(self.stall_until - time.time())
        if time.time() < self.fail_until:
            return self.fail_status, {"error": {"code": "injected", "message": "injected"}}
        if path == "/auth/signup" and method == "POST":
            req = orjson.loads(body)
            if req["username"] in self.passwords:
                return 409, {"error": {"code": "user_exists", "message": "exists"}}
            self.passwords[req["username"]] = req["password"]
            return 201, {"username": req["username"]}
        if path == "/auth/token" and method == "POST":
            req = orjson.loads(body)
            if self.passwords.get(req["username"]) != req["password"]:
                return 401, {"error": {"code": "invalid_credentials", "message": "no"}}
            token = secrets.token_hex(8)
            self.tokens[token] = req["username"]
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        user = self.user_of(dict(scope["headers"]).get(b"authorization", b"").decode())
        if user is None:
            return 401, {"error": {"code": "unauthorized", "message": "no"}}
        items = self.todos.setdefault(user, {})
        if path == "/todos" and method == "POST":
            req = orjson.loads(body)
            if req["id"] in items:
                return 200, items[req["id"]]
            items[req["id"]] = {"id": req["id"], "title": req["title"], "done": False}
            return 201, items[req["id"]]
        if path == "/todos" and method == "GET":
            every = "all=1" in query  # the tests read everything back in one page
            return 200, {"items": list(items.values())[: None if every else 20], "next_cursor": None}
        todo_id = path.removeprefix("/todos/")
        if todo_id not in items:
            return 404, {"error": {"code": "not_found", "message": "no"}}
        if method == "GET":
            return 200, items[todo_id]
        if method == "PATCH":
            items[todo_id].update(orjson.loads(body))
            return 200, items[todo_id]
        if method == "DELETE":
            del items[todo_id]
            return 204, None
        return 405, {"error": {"code": "method_not_allowed", "message": "no"}}

    def user_of(self, authorization: str) -> str | None:
        """Whose request this is, by its Authorization header (None: 401)."""
        return self.tokens.get(authorization.removeprefix("Bearer "))


if __name__ == "__main__":
    uvicorn.run(FakeTodoService(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
