"""Every todo endpoint through the in-process app, and isolation between users."""

from __future__ import annotations

import re

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_health_reports_region_version_store_and_table(client) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "region": "ap-northeast-2", "function_version": "1",
                        "store": "sqlite", "table": "todos"}


def test_create_returns_the_stored_todo(client, make_user) -> None:
    alice = make_user("alice")
    r = client.post("/todos", json={"title": "buy milk", "due": "2030-01-31", "priority": "high"},
                    headers=alice.auth)
    assert r.status_code == 201
    todo = r.json()
    assert set(todo) == {"id", "title", "done", "due", "priority", "created_at", "updated_at"}
    assert (todo["title"], todo["done"], todo["due"], todo["priority"]) == ("buy milk", False, "2030-01-31", "high")
    assert ISO_MS.match(todo["created_at"]) and todo["created_at"] == todo["updated_at"]
    assert r.headers["location"] == f"/todos/{todo['id']}"
    assert client.get(f"/todos/{todo['id']}", headers=alice.auth).json() == todo


def test_create_with_client_id_is_idempotent(client, make_user) -> None:
    alice = make_user("alice")
    first = client.post("/todos", json={"id": "ledger-0001", "title": "first"}, headers=alice.auth)
    again = client.post("/todos", json={"id": "ledger-0001", "title": "second"}, headers=alice.auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert client.get("/todos", headers=alice.auth).json()["items"] == [first.json()]


def test_due_date_time_is_normalised_to_utc(client, make_user) -> None:
    alice = make_user("alice")
    r = client.post("/todos", json={"title": "t", "due": "2030-01-01T09:00:00+09:00"}, headers=alice.auth)
    assert r.json()["due"] == "2030-01-01T00:00:00.000Z"


def test_patch_changes_title_and_done(client, make_user) -> None:
    alice = make_user("alice")
    todo = client.post("/todos", json={"title": "old"}, headers=alice.auth).json()
    r = client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice.auth)
    assert r.status_code == 200
    assert (r.json()["title"], r.json()["done"]) == ("old", True)
    assert r.json()["updated_at"] >= todo["updated_at"]
    r = client.patch(f"/todos/{todo['id']}", json={"title": "new"}, headers=alice.auth)
    assert (r.json()["title"], r.json()["done"]) == ("new", True)
    assert client.get(f"/todos/{todo['id']}", headers=alice.auth).json() == r.json()


def test_delete_then_get_is_404(client, make_user) -> None:
    alice = make_user("alice")
    todo = client.post("/todos", json={"title": "t"}, headers=alice.auth).json()
    r = client.delete(f"/todos/{todo['id']}", headers=alice.auth)
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/todos/{todo['id']}", headers=alice.auth).status_code == 404
    assert client.delete(f"/todos/{todo['id']}", headers=alice.auth).status_code == 404
    assert client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice.auth).status_code == 404


def test_list_paginates_with_cursor_and_filters_done(client, make_user) -> None:
    alice = make_user("alice")
    created = [client.post("/todos", json={"title": f"t{i}"}, headers=alice.auth).json() for i in range(7)]
    for todo in created[::2]:
        client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice.auth)
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = client.get("/todos", params=params, headers=alice.auth).json()
        assert len(page["items"]) <= 3
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [t["id"] for t in created]  # server ids list in creation order
    done = client.get("/todos", params={"done": "true"}, headers=alice.auth).json()
    assert [t["id"] for t in done["items"]] == [t["id"] for t in created[::2]]
    assert all(t["done"] for t in done["items"]) and done["next_cursor"] is None
    open_ = client.get("/todos", params={"done": "false"}, headers=alice.auth).json()
    assert [t["id"] for t in open_["items"]] == [t["id"] for t in created[1::2]]


def test_default_page_size_is_20(client, make_user) -> None:
    alice = make_user("alice")
    for i in range(21):
        client.post("/todos", json={"title": f"t{i}", "id": f"id{i:02d}"}, headers=alice.auth)
    page = client.get("/todos", headers=alice.auth).json()
    assert len(page["items"]) == 20 and page["next_cursor"] is not None


def test_users_see_only_their_own_todos(client, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    secret = client.post("/todos", json={"id": "same-id", "title": "alice's"}, headers=alice.auth).json()
    assert client.get("/todos/same-id", headers=bob.auth).status_code == 404
    assert client.get("/todos", headers=bob.auth).json() == {"items": [], "next_cursor": None}
    assert client.patch("/todos/same-id", json={"title": "pwned"}, headers=bob.auth).status_code == 404
    assert client.delete("/todos/same-id", headers=bob.auth).status_code == 404
    # bob may use the same client id for his own todo without touching alice's
    mine = client.post("/todos", json={"id": "same-id", "title": "bob's"}, headers=bob.auth)
    assert mine.status_code == 201
    assert client.get("/todos/same-id", headers=alice.auth).json() == secret
    assert client.get("/todos/same-id", headers=bob.auth).json()["title"] == "bob's"


def test_unknown_route_and_method(client) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.request("PUT", "/todos/x")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == "DELETE, GET, PATCH"


def test_every_response_carries_a_request_id(client) -> None:
    ids = {client.get("/health").headers["x-amzn-requestid"] for _ in range(3)}
    assert len(ids) == 3
