"""Table actions through the control API of a running service, seen by an ordinary API client."""

from __future__ import annotations

import time

import pytest


def _seed(deployment, n: int, prefix: str) -> tuple[dict[str, str], dict[str, dict]]:
    _, auth = deployment.token()
    todos = {}
    for i in range(n):
        r = deployment.api("POST", "/todos", auth, json={"title": f"{prefix} {i}", "id": f"{prefix}-{i:03d}"})
        assert r.status_code == 201
        todos[r.json()["id"]] = r.json()
    return auth, todos


def _read_all(deployment, auth, ids) -> dict[str, tuple[int, dict | None]]:
    out = {}
    for todo_id in ids:
        r = deployment.api("GET", f"/todos/{todo_id}", auth)
        out[todo_id] = (r.status_code, r.json() if r.content else None)
    return out


@pytest.fixture
def live_table(deployment):
    """Whatever a test repoints, the next test starts on `todos` again."""
    yield
    deployment.ok("PUT", "/control/function/config", {"table_name": "todos"})


def test_corruption_is_served_wrongly_or_fails_and_revert_heals(deployment, live_table):
    auth, todos = _seed(deployment, 12, "corr")
    answer = deployment.ok("POST", "/control/table/corrupt",
                           {"fraction": 1.0, "modes": ["garble", "drop-attribute", "delete"], "id_prefix": "corr-"})
    assert answer["items"] == 12 and answer["by_mode"] == {"garble": 4, "drop-attribute": 4, "delete": 4}
    seen = _read_all(deployment, auth, todos)
    statuses = [s for s, _ in seen.values()]
    assert statuses.count(404) == 4  # deleted
    assert statuses.count(502) == 2  # garbled dates: the handler's own formatting fails
    wrong = [body for s, body in seen.values() if s == 200 and body != todos[body["id"]]]
    assert len(wrong) == 6  # garbled titles and dropped attributes, served as if fine
    assert any(body["title"] is None for body in wrong)
    assert deployment.api("GET", "/todos", auth, params={"limit": 100}).status_code == 502  # a list touching them
    restored = deployment.ok("DELETE", f"/control/table/corrupt/{answer['corruption']}")
    assert restored["restored"] == 12
    assert {k: b for k, (s, b) in _read_all(deployment, auth, todos).items()} == todos
    assert deployment.ok("DELETE", f"/control/table/corrupt/{answer['corruption']}")["restored"] == 0


def test_backup_restore_and_repoint_serve_the_data_as_of_the_backup(deployment, live_table):
    auth, todos = _seed(deployment, 5, "bk")
    backup = deployment.ok("POST", "/control/table/backups", {})
    assert backup["name"].startswith("todos-backup-") and backup["table"] == "todos"
    deployment.api("PATCH", "/todos/bk-000", auth, json={"title": "after the backup"})
    deployment.api("DELETE", "/todos/bk-001", auth)
    deployment.api("POST", "/todos", auth, json={"title": "new", "id": "bk-new"})
    assert backup["name"] in [b["name"] for b in deployment.ok("GET", "/control/table/backups")["backups"]]
    restored = deployment.ok("POST", "/control/table/restore",
                             {"target_table": "todos-from-backup", "backup": backup["name"]})
    assert restored["restored_to"] == backup["created_at"]
    assert deployment.api("GET", "/todos/bk-000", auth).json()["title"] == "after the backup"  # not repointed yet
    deployment.ok("PUT", "/control/function/config", {"table_name": "todos-from-backup"})
    time.sleep(0.2)
    assert deployment.api("GET", "/health").json()["table"] == "todos-from-backup"
    assert deployment.api("GET", "/todos/bk-000", auth).json() == todos["bk-000"]
    assert deployment.api("GET", "/todos/bk-001", auth).status_code == 200
    assert deployment.api("GET", "/todos/bk-new", auth).status_code == 404
    r = deployment.ctl("DELETE", "/control/table/tables/todos-from-backup")
    assert r.status_code == 409  # the function uses it


def test_point_in_time_restore_serves_the_data_as_of_the_timestamp(deployment, live_table):
    auth, todos = _seed(deployment, 4, "pitr")
    time.sleep(0.05)
    mark = time.time()
    time.sleep(0.05)
    deployment.api("PATCH", "/todos/pitr-000", auth, json={"title": "too late", "done": True})
    deployment.api("DELETE", "/todos/pitr-001", auth)
    restored = deployment.ok("POST", "/control/table/restore", {"target_table": "todos-pitr", "timestamp": mark})
    assert restored["restored_to"] == mark
    deployment.ok("PUT", "/control/function/config", {"table_name": "todos-pitr"})
    time.sleep(0.2)
    assert deployment.api("GET", "/todos/pitr-000", auth).json() == todos["pitr-000"]
    assert deployment.api("GET", "/todos/pitr-001", auth).json() == todos["pitr-001"]
    r = deployment.ctl("POST", "/control/table/restore", {"target_table": "todos-pitr", "timestamp": mark})
    assert r.status_code == 409


def test_throttled_table_answers_503_with_the_documented_error(deployment):
    _, auth = deployment.token()
    deployment.ok("PUT", "/control/table/throttle", {"read_capacity": 0, "write_capacity": None})
    try:
        time.sleep(0.2)
        r = deployment.api("GET", "/todos", auth)
        assert r.status_code == 503 and r.json()["error"]["code"] == "ProvisionedThroughputExceededException"
        assert deployment.api("POST", "/todos", auth, json={"title": "writes still fine"}).status_code == 201
        deployment.ok("PUT", "/control/table/throttle", {"read_capacity": None, "write_capacity": 3})
        time.sleep(0.2)
        statuses = [deployment.api("POST", "/todos", auth, json={"title": "w"}).status_code for _ in range(12)]
        assert statuses.count(201) >= 3 and statuses.count(503) >= 1  # a capacity, not a switch
    finally:
        deployment.ok("DELETE", "/control/table/throttle")
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200


def test_change_log_records_table_actions_with_times(deployment):
    before = time.time()
    deployment.ok("POST", "/control/table/backups", {})
    entries = deployment.ok("GET", "/control/log", since=before)["entries"]
    assert [e["action"] for e in entries] == ["table.create-backup"]
    assert entries[0]["epoch_s"] >= before and entries[0]["at"].endswith("Z")
    assert entries[0]["region"] == "ap-northeast-2"
