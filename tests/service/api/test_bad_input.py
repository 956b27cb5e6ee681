"""Every class of bad input gets a 4xx with the contract's error shape, never a 500."""

from __future__ import annotations

import pytest


def _error(r, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]["message"]


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"title": "x"', b"\xff\xfe\x00", b"nul\x00l"])
def test_bad_json_is_400_invalid_json(client, alice, raw: bytes) -> None:
    r = client.post("/todos", content=raw, headers={**alice.auth, "content-type": "application/json"})
    _error(r, 400, "invalid_json")


@pytest.mark.parametrize("path,method", [("/auth/signup", "POST"), ("/auth/token", "POST")])
def test_bad_json_on_auth_routes(client, path: str, method: str) -> None:
    _error(client.request(method, path, content=b"[1, 2"), 400, "invalid_json")


@pytest.mark.parametrize("body", [
    {"title": "x", "owner": "bob"},
    {"title": "x", "done": True},  # done is not settable on create
    {"title": "x", "user_id": "someone"},
])
def test_unknown_fields_are_400_unknown_field(client, alice, body) -> None:
    message = _error(client.post("/todos", json=body, headers=alice.auth), 400, "unknown_field")
    assert (set(body) - {"title"}).pop() in message


def test_unknown_fields_on_patch_and_auth(client, alice) -> None:
    todo = client.post("/todos", json={"title": "x"}, headers=alice.auth).json()
    _error(client.patch(f"/todos/{todo['id']}", json={"done": True, "id": "other"}, headers=alice.auth),
           400, "unknown_field")
    _error(client.post("/auth/signup", json={"username": "bob", "password": "longenough", "admin": True}),
           400, "unknown_field")


@pytest.mark.parametrize("body", [
    {"title": 42},
    {"title": None},
    {"title": ["x"]},
    {"title": "x", "priority": 1},
    {"title": "x", "priority": "urgent"},
    {"title": "x", "due": 20300101},
    {"title": "x", "due": "next tuesday"},
    {"title": "x", "id": 7},
    {"title": "x", "id": "has space"},
    {"title": "x", "id": "x" * 65},
    ["title", "x"],
    "title",
    0,
])
def test_wrong_types_and_values_are_400_validation_error(client, alice, body) -> None:
    _error(client.post("/todos", json=body, headers=alice.auth), 400, "validation_error")


def test_json_null_body_is_400_validation_error(client, alice) -> None:
    r = client.post("/todos", content=b"null", headers=alice.auth)
    assert "must be a JSON object" in _error(r, 400, "validation_error")


@pytest.mark.parametrize("body", [{"done": "true"}, {"done": 1}, {"title": 5}, {"title": ""}, {}])
def test_bad_patch_is_400(client, alice, body) -> None:
    todo = client.post("/todos", json={"title": "x"}, headers=alice.auth).json()
    _error(client.patch(f"/todos/{todo['id']}", json=body, headers=alice.auth), 400, "validation_error")


def test_title_length_limits(client, alice) -> None:
    ok = client.post("/todos", json={"title": "한" * 200}, headers=alice.auth)  # 200 characters, not bytes
    assert ok.status_code == 201 and ok.json()["title"] == "한" * 200
    message = _error(client.post("/todos", json={"title": "x" * 201}, headers=alice.auth), 400, "validation_error")
    assert "title" in message and "200" in message
    _error(client.post("/todos", json={"title": ""}, headers=alice.auth), 400, "validation_error")


@pytest.mark.parametrize("body", [
    {"username": "al", "password": "longenough"},
    {"username": "bad name", "password": "longenough"},
    {"username": "bob", "password": "short"},
    {"username": "bob"},
    {"username": 5, "password": "longenough"},
])
def test_bad_signup_is_400(client, body) -> None:
    _error(client.post("/auth/signup", json=body), 400, "validation_error")


def test_oversize_body_is_413(client, alice) -> None:
    big = b'{"title": "' + b"x" * (16 * 1024) + b'"}'
    _error(client.post("/todos", content=big, headers=alice.auth), 413, "payload_too_large")
    _error(client.post("/auth/signup", content=big), 413, "payload_too_large")
    # without a Content-Length (chunked), the cap holds while reading
    async def chunks():
        for _ in range(20):
            yield b"x" * 1024

    _error(client.post("/todos", content=chunks(), headers=alice.auth), 413, "payload_too_large")
    # exactly 16 KiB is allowed (and then judged on its content)
    exact = b'{"title": "' + b"x" * (16 * 1024 - 14) + b'"}'
    assert len(exact) == 16 * 1024 - 1
    _error(client.post("/todos", content=exact, headers=alice.auth), 400, "validation_error")


@pytest.mark.parametrize("query,code", [
    ({"limit": "0"}, "validation_error"),
    ({"limit": "101"}, "validation_error"),
    ({"limit": "ten"}, "validation_error"),
    ({"limit": "9" * 5000}, "validation_error"),
    ({"done": "yes"}, "validation_error"),
    ({"cursor": "!!!"}, "validation_error"),
    ({"cursor": "aGVsbG8gd29ybGQ"}, "validation_error"),  # base64 of "hello world": not an id
    ({"sort": "title"}, "unknown_field"),
])
def test_bad_list_query_is_400(client, alice, query, code) -> None:
    _error(client.get("/todos", params=query, headers=alice.auth), 400, code)


def test_ids_that_cannot_exist_are_404(client, alice) -> None:
    _error(client.get("/todos/" + "x" * 65, headers=alice.auth), 404, "not_found")
    _error(client.get("/todos/%E2%98%83", headers=alice.auth), 404, "not_found")
    _error(client.get("/todos/a/b", headers=alice.auth), 404, "not_found")


def test_no_bad_input_ever_produced_a_5xx(client, alice) -> None:
    """A sweep of odd requests: nothing may answer 5xx."""
    odd = [
        ("POST", "/todos", b"{}"), ("POST", "/todos", b"[]"), ("POST", "/todos", b"1e999"),
        ("POST", "/todos", b'{"title": "\\ud800"}'), ("PATCH", "/todos/x", b"null"),
        ("POST", "/auth/token", b'{"username": "", "password": ""}'),
        ("POST", "/auth/token", b'{"username": "x", "password": "' + b"p" * 300 + b'"}'),
        ("POST", "/auth/revoke", b"garbage"), ("GET", "/todos?limit=&done=", b""),
        ("DELETE", "/todos/" + "%00", b""),
    ]
    for method, path, body in odd:
        r = client.request(method, path, content=body, headers=alice.auth)
        assert r.status_code < 500, (method, path, body, r.status_code, r.text)
