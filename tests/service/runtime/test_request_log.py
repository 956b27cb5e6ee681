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


def _write(log, request_id: str) -> None:
    log.write(level="INFO", function="health", user_id=None, request_id=request_id, message="GET /health 200",
              error=None, metadata={"status": 200})


def test_lines_written_from_threads_during_flushes_and_shutdown_are_all_kept(tmp_path) -> None:
    """Writers in several threads while another thread flushes and then closes the log (the
    shutdown flush): every line is in the file exactly once, whole."""
    import threading

    from service.runtime.request_log import RequestLog

    log = RequestLog(tmp_path / "todo-api.log")
    writers, lines_each = 4, 3000
    halfway = threading.Barrier(writers + 1)
    closed = threading.Event()

    def writer(w: int) -> None:
        for i in range(lines_each):
            if i == lines_each // 2:
                halfway.wait(30)  # half written; the rest goes in while and after the log closes
                closed.wait(30)
            _write(log, f"w{w}-{i}")

    def flusher(stop: threading.Event) -> None:
        while not stop.is_set():
            log.flush()

    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    flushing = threading.Thread(target=flusher, args=(stop,))
    for thread in [*threads, flushing]:
        thread.start()
    halfway.wait(30)
    closing = threading.Thread(target=log.close)  # the shutdown flush, from its own thread
    closing.start()
    closed.set()  # the writers go on during the close
    closing.join(30)
    stop.set()
    for thread in [*threads, flushing]:
        thread.join(30)
    log.close()
    lines = [orjson.loads(raw) for raw in (tmp_path / "todo-api.log").read_bytes().splitlines()]
    ids = [line["requestId"] for line in lines]
    assert len(ids) == writers * lines_each
    assert set(ids) == {f"w{w}-{i}" for w in range(writers) for i in range(lines_each)}
    for w in range(writers):  # and each thread's lines in the order it wrote them
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"w{w}-")]
        assert mine == sorted(mine)


def test_a_line_written_after_close_still_reaches_the_file(tmp_path) -> None:
    from service.runtime.request_log import RequestLog

    log = RequestLog(tmp_path / "todo-api.log")
    _write(log, "before")
    log.close()
    _write(log, "after")
    log.flush()
    log.close()
    ids = [orjson.loads(raw)["requestId"] for raw in (tmp_path / "todo-api.log").read_bytes().splitlines()]
    assert ids == ["before", "after"]
