"""The control API app over ASGI: auth, validation, state changes, change log (no region processes)."""

from __future__ import annotations

import asyncio
import os
import stat

import httpx
import pytest

from service.control.api import ControlApi
from service.control.changelog import ChangeLog
from service.control.context import ControlContext, RegionFiles
from service.control.state import PRIMARY, SECONDARY, initial_state
from service.control.store import StateStore
from service.control.token import AdminToken
from service.store.base import TodoItem, now_ms
from service.store.sqlite import SqliteTodoStore


@pytest.fixture
def api(tmp_path):
    regions = {}
    for name in (PRIMARY, SECONDARY):
        files = RegionFiles(name, tmp_path / name)
        store = SqliteTodoStore(files.db_path)
        for i in range(10):
            t = now_ms()
            store.create("u1", TodoItem(f"t{i}", f"title {i}", False, None, "normal", t, t))
        store.close()
        regions[name] = files
    state = StateStore.create(tmp_path / "control" / "state.json", initial_state([PRIMARY, SECONDARY]))
    ctx = ControlContext(store=state, log=ChangeLog(tmp_path / "control" / "changes.jsonl"), regions=regions)
    token = AdminToken.load_or_create(tmp_path)
    app = ControlApi(ctx, token)
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://control.test",
                               headers={"authorization": f"Bearer {token.value}"})

    def call(method: str, path: str, **kw) -> httpx.Response:
        return loop.run_until_complete(client.request(method, path, **kw))

    call.state = state  # type: ignore[attr-defined]
    call.client = client  # type: ignore[attr-defined]
    call.loop = loop  # type: ignore[attr-defined]
    yield call
    loop.run_until_complete(client.aclose())
    loop.close()


def test_token_file_is_private_and_required(api, tmp_path):
    assert stat.S_IMODE(os.stat(tmp_path / "admin.token").st_mode) == 0o600
    r = api("GET", "/control/state", headers={"authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = api.loop.run_until_complete(
        httpx.AsyncClient(transport=api.client._transport, base_url="http://control.test").get("/control/state"))
    assert r.status_code == 401


def test_publish_alias_and_rollback_change_state_and_log(api):
    r = api("POST", "/control/function/versions", json={"code": "broken", "description": "bad"})
    assert r.status_code == 201 and r.json()["version"] == "2"
    r = api("PUT", "/control/function/aliases/LIVE", json={"version": "2"})
    assert r.json() == {"alias": "LIVE", "version": "2", "previous_version": "1"}
    state = api("GET", "/control/state").json()
    assert state["function"]["aliases"]["LIVE"] == "2" and state["function"]["live"]["code"] == "broken"
    # the secondary region's function is its own
    assert api("GET", "/control/function/versions", params={"region": SECONDARY}).json()["aliases"]["LIVE"] == "1"
    assert api("PUT", "/control/function/aliases/LIVE", json={"version": "9"}).status_code == 404
    assert api("PUT", "/control/function/aliases/PROD", json={"version": "1"}).status_code == 404
    assert api("POST", "/control/function/versions", json={"code": "nope"}).status_code == 400
    actions = [e["action"] for e in api("GET", "/control/log").json()["entries"]]
    assert actions == ["function.publish-version", "function.update-alias"]


def test_faults_concurrency_and_config_validate_and_apply(api):
    r = api("PUT", "/control/function/faults/latency", json={"percentage": 50, "latency_ms": 300})
    assert r.json()["faults"] == {"latency": {"percentage": 50.0, "latency_ms": 300}}
    assert api("PUT", "/control/function/faults/latency", json={"percentage": 500, "latency_ms": 3}).status_code == 400
    assert api("PUT", "/control/function/faults/gremlins", json={}).status_code == 404
    assert api("DELETE", "/control/function/faults/latency").json()["faults"] == {}
    assert api("DELETE", "/control/function/faults/latency").status_code == 200  # idempotent
    assert api("PUT", "/control/function/concurrency", json={"reserved": 0}).json() == {"reserved": 0, "previous": None}
    assert api("PUT", "/control/function/concurrency", json={"reserved": -1}).status_code == 400
    r = api("PUT", "/control/function/config", json={"table_name": "todos-missing"})
    assert r.status_code == 404
    r = api("PUT", "/control/function/config", json={"timeout_s": 2.5})
    assert r.json()["config"]["timeout_s"] == 2.5 and r.json()["previous"]["timeout_s"] == 10.0
    assert api("PUT", "/control/function/config", json={"colour": "red"}).status_code == 400
    assert api("PUT", "/control/function/config", content=b"{not json").status_code == 400


def test_backup_restore_repoint_and_drop(api):
    backup = api("POST", "/control/table/backups", json={}).json()
    assert backup["name"].startswith("todos-backup-") and backup["items"] == 10
    assert api("GET", "/control/table/backups").json()["backups"][0]["created_at"] == backup["created_at"]
    r = api("POST", "/control/table/restore", json={"target_table": "todos-restored", "backup": backup["name"]})
    assert r.status_code == 201 and r.json()["items"] == 10
    assert api("POST", "/control/table/restore",
               json={"target_table": "todos-restored", "backup": backup["name"]}).status_code == 409
    assert api("POST", "/control/table/restore", json={"target_table": "x-y-z"}).status_code == 400
    r = api("PUT", "/control/function/config", json={"table_name": "todos-restored"})
    assert r.json()["previous"]["table_name"] == "todos"
    assert api("DELETE", "/control/table/tables/todos-restored").status_code == 409  # LIVE uses it
    assert api("DELETE", "/control/table/tables/todos").status_code == 200
    names = [t["name"] for t in api("GET", "/control/table/tables").json()["tables"]]
    assert names == ["todos-restored"]


def test_corrupt_and_revert_through_the_api(api):
    r = api("POST", "/control/table/corrupt", json={"fraction": 0.5, "modes": ["delete"]})
    assert r.status_code == 201 and r.json()["items"] == 5
    tables = api("GET", "/control/table/tables").json()["tables"]
    assert tables[0]["items"] == 5
    assert api("DELETE", f"/control/table/corrupt/{r.json()['corruption']}").json()["restored"] == 5
    assert api("GET", "/control/table/tables").json()["tables"][0]["items"] == 10
    assert api("POST", "/control/table/corrupt", json={"fraction": 2}).status_code == 400


def test_region_outage_without_processes_is_refused_and_table_ops_need_the_region_up(api):
    assert api("PUT", f"/control/regions/{PRIMARY}", json={"status": "refuse"}).status_code == 409
    assert api("PUT", "/control/regions/mars-east-1", json={"status": "up"}).status_code == 404
    api.state.update(lambda s: setattr(s.regions[PRIMARY], "status", "blackhole"))
    r = api("POST", "/control/table/backups", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "region_unavailable"
    assert api("GET", "/control/state").json()["table"]["available"] is False


def test_edge_switch_and_automatic(api):
    r = api("PUT", "/control/edge", json={"active": SECONDARY, "failure_threshold": 2})
    assert r.json()["serving"] == SECONDARY and r.json()["failure_threshold"] == 2
    r = api("PUT", "/control/edge", json={"active": None})
    assert r.json()["serving"] == PRIMARY and r.json()["active"] is None
    assert api("PUT", "/control/edge", json={"active": "nowhere"}).status_code == 404
    assert api("PUT", "/control/replication", json={"paused": True}).json()["paused"] is True
    assert api("GET", "/control/state").json()["replication"]["paused"] is True
    assert api("PUT", "/control/auth/not-before", json={"epoch_s": 5.0}).status_code == 200
    assert api("GET", "/control/state").json()["auth"]["not_before"] == 5.0
    assert api("GET", "/control/nothing").status_code == 404
    assert api("DELETE", "/control/state").status_code == 405


def test_a_token_file_others_can_read_is_refused(tmp_path):
    from service.errors import ServiceError

    (tmp_path / "admin.token").write_text("x" * 40)
    os.chmod(tmp_path / "admin.token", 0o644)
    with pytest.raises(ServiceError, match="0600"):
        AdminToken.load_or_create(tmp_path)
