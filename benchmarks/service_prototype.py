"""The issue's "minimal prototype of the same shape", as a second yardstick for the service.

JWT check (verified tokens cached, as the service does), an API Gateway-like event object,
SQLite (WAL) and one JSON log line per request, nothing else: no metrics, no change log, no
validation models, no function runtime. Serves the benchmark mix (GET /todos/{id},
GET /todos?limit=N, POST /todos) with the service's item shape, so responses are the same
size. benchmarks/service_bench.py runs it on the service's server stack and reports the
service's RPS as a share of it, measured in the same rounds.

Environment: PROTO_DB (SQLite file, created and seeded by the benchmark), PROTO_LOG (log
file), PROTO_KEY (HS256 key).
"""

from __future__ import annotations

import os
import sqlite3
import time

import jwt
import orjson

_COLUMNS = "id, title, done, due, priority, created_at, updated_at"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS todos (user_id TEXT, id TEXT, title TEXT, done INTEGER, due TEXT,"
    " priority TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (user_id, id)) WITHOUT ROWID"
)
_KEY = os.environ.get("PROTO_KEY", "").encode()
_tokens: dict[bytes, dict] = {}
_db: sqlite3.Connection | None = None
_log = None
_counter = 0


def _open() -> sqlite3.Connection:
    global _db, _log
    if _db is None:
        _db = sqlite3.connect(os.environ["PROTO_DB"], isolation_level=None, check_same_thread=False)
        _db.execute("PRAGMA journal_mode=WAL")
        _db.execute("PRAGMA synchronous=NORMAL")
        _log = open(os.environ["PROTO_LOG"], "ab", buffering=256 * 1024)
    return _db


def _item(row: tuple) -> dict:
    return {"id": row[0], "title": row[1], "done": bool(row[2]), "due": row[3], "priority": row[4],
            "created_at": row[5], "updated_at": row[6]}


async def app(scope, receive, send):
    global _counter
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _log is not None:
                    _log.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return
    started = time.perf_counter()
    db = _open()
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    token = headers.get("authorization", "")[7:].encode()
    claims = _tokens.get(token)
    if claims is None:
        try:
            claims = _tokens[token] = jwt.decode(token, _KEY, algorithms=["HS256"])
        except jwt.PyJWTError:  # e.g. the benchmark's readiness probe, which sends no token
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"{}"})
            return
    user = claims["sub"]
    method, path = scope["method"], scope["path"]
    _counter += 1
    event = {"resource": path, "path": path, "httpMethod": method, "headers": headers,
             "queryStringParameters": None, "body": None,
             "requestContext": {"requestId": f"proto-{_counter}", "authorizer": {"claims": claims}}}
    if method == "POST":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        event["body"] = body.decode()
        title = orjson.loads(body)["title"]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        row = (f"p{os.getpid()}-{_counter:012d}", title, 0, None, "normal", now, now)
        db.execute("INSERT INTO todos VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (user, *row))
        status, out = 201, orjson.dumps(_item(row))
    elif path == "/todos":
        rows = db.execute(f"SELECT {_COLUMNS} FROM todos WHERE user_id = ? ORDER BY id LIMIT 21", (user,)).fetchall()
        status, out = 200, orjson.dumps({"items": [_item(r) for r in rows[:20]],
                                         "next_cursor": rows[20][0] if len(rows) > 20 else None})
    else:
        row = db.execute(f"SELECT {_COLUMNS} FROM todos WHERE user_id = ? AND id = ?", (user, path[7:])).fetchone()
        status, out = (200, orjson.dumps(_item(row))) if row else (404, b'{"error":{"code":"not_found"}}')
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})
    _log.write(orjson.dumps({  # type: ignore[union-attr]
        "timestamp": time.time(), "level": "INFO", "service": "prototype", "userId": user,
        "requestId": event["requestContext"]["requestId"], "message": f"{method} {path} {status}",
        "metadata": {"status": status, "latencyMs": (time.perf_counter() - started) * 1000},
    }, option=orjson.OPT_APPEND_NEWLINE))
