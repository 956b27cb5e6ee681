"""A stand-in for the todo API's read endpoints (docs/service-api.md), served by uvicorn on 127.0.0.1.

The read-back is tested over real HTTP against the documented contract; the
bundled service is built in parallel and exercised by tests/e2e.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
import uvicorn


@dataclass
class FakeTodoApi:
    passwords: dict[str, str] = field(default_factory=dict)
    todos: dict[str, dict[str, dict]] = field(default_factory=dict)  # user -> id -> todo
    broken_ids: set[str] = field(default_factory=set)  # GET answers 503, lists skip them
    hidden_from_list: set[str] = field(default_factory=set)  # lists skip them, GET finds them
    fail_list_requests: int = 0  # the next N list requests answer 503
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    def add(self, user: str, password: str, *todos: dict) -> None:
        self.passwords[user] = password
        bucket = self.todos.setdefault(user, {})
        for todo in todos:
            bucket[todo["id"]] = {"done": False, "due": None, "priority": "normal", **todo}

    async def __call__(self, scope, receive, send):  # ASGI
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload = self._route(scope, body)
        data = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    def _route(self, scope, body: bytes):
        method, path = scope["method"], scope["path"]
        self.requests.append(f"{method} {path}")
        if method == "POST" and path == "/auth/token":
            creds = json.loads(body)
            if self.passwords.get(creds.get("username")) != creds.get("password"):
                return 401, {"error": {"code": "invalid_credentials", "message": "no"}}
            return 200, {"access_token": "tok-" + creds["username"], "token_type": "Bearer", "expires_in": 3600}
        headers = dict(scope["headers"])
        user = headers.get(b"authorization", b"").decode().removeprefix("Bearer tok-")
        if user not in self.passwords:
            return 401, {"error": {"code": "unauthorized", "message": "no"}}
        items = self.todos.get(user, {})
        if method == "GET" and path == "/todos":
            if self.fail_list_requests > 0:
                self.fail_list_requests -= 1
                return 503, {"error": {"code": "unavailable", "message": "try later"}}
            query = parse_qs(scope["query_string"].decode())
            limit = int(query.get("limit", ["20"])[0])
            start = int(query.get("cursor", ["0"])[0])
            ids = [i for i in sorted(items) if i not in self.broken_ids | self.hidden_from_list]
            page = ids[start:start + limit]
            more = start + limit < len(ids)
            return 200, {"items": [items[i] for i in page], "next_cursor": str(start + limit) if more else None}
        if method == "GET" and path.startswith("/todos/"):
            item_id = path.removeprefix("/todos/")
            if item_id in self.broken_ids:
                return 503, {"error": {"code": "ProvisionedThroughputExceededException", "message": "x"}}
            if item_id not in items:
                return 404, {"error": {"code": "not_found", "message": "no"}}
            return 200, items[item_id]
        return 404, {"error": {"code": "not_found", "message": path}}


@pytest.fixture
def todo_api():
    api = FakeTodoApi()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    api.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield api
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# ---- synthetic journals -------------------------------------------------------------------

from verify.checks import evaluate  # noqa: E402
from verify.journal import FaultRecord, Journal, RemediationRecord, RunStatus  # noqa: E402
from verify.slo import AlarmRule  # noqa: E402
from verify.synthetic import Segment, SeriesSpec, build_series  # noqa: E402

T0 = 1_700_000_000


def make_journal(outage_end: int = 31, run_id: str = "run-1", start: int = T0, scenario: str = "lambda-failure",
                 baseline_ms: float = 60.0, **kw) -> Journal:
    """A drill with an outage from +20 s to +outage_end s, checks evaluated, status set from them."""
    fault_at = start + 20.0
    series = build_series(SeriesSpec(start, 70, rps=40, high_ms=baseline_ms,
                                     segments=[Segment(20, outage_end, error_rate=1.0)]))
    base = dict(
        run_id=run_id, scenario=scenario, profile="smoke", target="local", target_kind="bundled",
        started_at=float(start), ended_at=start + 72.0, time_scale=0.05, rto_s=15.0, sustained_s=10.0,
        alarm=AlarmRule().scaled(0.05), fault_at=fault_at, series=series,
        faults=[FaultRecord(id="bad", action="lambda.deploy-bad-version", provider="local", target="local",
                            intended_at=fault_at, injected_at=fault_at, reverted_at=start + 71.0)],
        remediations=[RemediationRecord(action="lambda.rollback", parameters={"to": "previous"},
                                        started_at=start + 24.0, ended_at=start + outage_end - 0.5)],
    )
    base.update(kw)
    journal = Journal(**base)
    journal.checks = evaluate(journal)
    if "status" not in kw:
        journal.status = RunStatus.PASSED if all(c.passed for c in journal.checks) else RunStatus.FAILED
    return journal


@pytest.fixture
def journal_factory():
    return make_journal
