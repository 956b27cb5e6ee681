"""One JSON log line per request, in the manual's format."""

from __future__ import annotations

import re

import orjson

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TOP = {"timestamp", "level", "service", "function", "userId", "requestId", "message", "error", "metadata"}


def _lines(client, settings) -> list[dict]:
    client.app.log.flush()
    return [orjson.loads(raw) for raw in settings.log_file.read_bytes().splitlines()]


def test_every_request_writes_exactly_one_line(client, settings, make_user) -> None:
    alice = make_user("alice")  # 2 requests
    r1 = client.post("/todos", json={"title": "t"}, headers=alice.auth)
    client.get("/todos/nope", headers=alice.auth)
    client.get("/nope")
    client.get("/metrics")
    client.post("/todos", content=b"{bad", headers=alice.auth)
    lines = _lines(client, settings)
    assert len(lines) == 7
    assert [line["requestId"] for line in lines][2] == r1.headers["x-amzn-requestid"]
    assert len({line["requestId"] for line in lines}) == 7


def test_line_has_the_manual_fields(client, settings, make_user) -> None:
    alice = make_user("alice")
    client.post("/todos", json={"title": "t"}, headers={**alice.auth, "User-Agent": "drill/1.0"})
    line = _lines(client, settings)[-1]
    assert set(line) == TOP
    assert ISO_MS_Z.match(line["timestamp"])
    assert (line["level"], line["service"], line["function"]) == ("INFO", "todo-api", "createTodo")
    assert line["userId"] and line["userId"] != "alice"  # the user's sub (uuid), as Cognito's
    assert line["error"] is None
    meta = line["metadata"]
    assert (meta["ip"], meta["userAgent"], meta["method"], meta["path"], meta["status"]) == (
        "127.0.0.1", "drill/1.0", "POST", "/todos", 201)
    assert meta["latencyMs"] > 0 and meta["functionVersion"] == "1"


def test_function_names_follow_the_routes(client, settings, make_user) -> None:
    alice = make_user("alice")
    todo = client.post("/todos", json={"title": "t"}, headers=alice.auth).json()
    client.get("/todos", headers=alice.auth)
    client.get(f"/todos/{todo['id']}", headers=alice.auth)
    client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice.auth)
    client.delete(f"/todos/{todo['id']}", headers=alice.auth)
    client.get("/health")
    client.post("/auth/revoke", headers=alice.auth)
    names = [line["function"] for line in _lines(client, settings)]
    assert names == ["signUp", "signIn", "createTodo", "listTodos", "getTodo", "updateTodo", "deleteTodo",
                     "health", "revokeToken"]


def test_levels_and_error_object(client, settings, make_user) -> None:
    alice = make_user("alice")
    client.get("/todos")  # 401 -> WARN
    client.get("/todos/missing", headers=alice.auth)  # 404 -> INFO
    broken = client.app.functions["todo-api"]
    original = broken._handler

    def crash(event, context):
        raise ZeroDivisionError("boom")

    broken._handler = crash
    try:
        r = client.get("/todos", headers=alice.auth)
    finally:
        broken._handler = original
    assert r.status_code == 502
    unauthorized, missing, crashed = _lines(client, settings)[-3:]
    assert (unauthorized["level"], unauthorized["metadata"]["status"]) == ("WARN", 401)
    assert missing["level"] == "INFO"
    assert crashed["level"] == "ERROR"
    assert crashed["error"]["name"] == "ZeroDivisionError"
    assert crashed["error"]["message"] == "boom"
    assert "Traceback" in crashed["error"]["stack"] and "crash" in crashed["error"]["stack"]


def test_lines_are_flushed_without_waiting_for_shutdown(client, settings) -> None:
    import time

    client.get("/health")
    deadline = time.time() + 5
    while time.time() < deadline:  # the housekeeping task flushes every ~0.2 s
        client.loop.run_until_complete(__import__("asyncio").sleep(0.1))
        if settings.log_file.exists() and settings.log_file.read_bytes().count(b"\n") == 1:
            break
    assert settings.log_file.read_bytes().count(b"\n") == 1
