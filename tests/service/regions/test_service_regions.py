"""Two regions of a running service: replication, outages, edge failover, all through the control API."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import httpx
import pytest

PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"

# The deployment helpers live beside the control tests; one copy serves both directories.
_spec = importlib.util.spec_from_file_location("control_conftest", Path(__file__).parents[1] / "control" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _helpers  # dataclasses look their module up there
_spec.loader.exec_module(_helpers)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    d = _helpers.start_deployment(tmp_path_factory.mktemp("regions"), regions=2, workers=1)
    d.ok("PUT", "/control/edge", {"interval_s": 0.2, "failure_threshold": 2})
    yield d
    _helpers.stop_deployment(d)


def _wait(predicate, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        time.sleep(0.05)
    return time.monotonic() - started


def _serving(deployment) -> str:
    return deployment.ok("GET", "/control/edge")["serving"]


def _region_get(deployment, region: str, path: str, auth) -> httpx.Response:
    return httpx.get(deployment.ready.regions[region] + path, headers=auth, timeout=5)


def _health_region(deployment) -> str:
    try:
        return httpx.get(deployment.url + "/health", timeout=1.0).json()["region"]
    except httpx.HTTPError as exc:
        return type(exc).__name__


def test_writes_replicate_both_ways_and_lag_is_reported(deployment):
    _, auth = deployment.token()
    assert deployment.api("POST", "/todos", auth, json={"title": "in seoul", "id": "rep-a"}).status_code == 201
    r = httpx.post(deployment.ready.regions[SECONDARY] + "/todos", headers=auth, timeout=5,
                   json={"title": "in tokyo", "id": "rep-b"})
    assert r.status_code == 201
    _wait(lambda: _region_get(deployment, SECONDARY, "/todos/rep-a", auth).status_code == 200)
    _wait(lambda: _region_get(deployment, PRIMARY, "/todos/rep-b", auth).status_code == 200)
    replication = deployment.ok("GET", "/control/replication")
    assert set(replication["lag_ms"]) == {f"{PRIMARY}->{SECONDARY}", f"{SECONDARY}->{PRIMARY}"}
    assert replication["applied"][f"{PRIMARY}->{SECONDARY}"] >= 1


def test_refused_primary_fails_over_after_the_threshold_and_unreplicated_writes_are_counted(deployment):
    _, auth = deployment.token()
    deployment.ok("PUT", "/control/replication", {"paused": True})
    for i in range(4):
        assert deployment.api("POST", "/todos", auth, json={"title": "stranded", "id": f"lost-{i}"}).status_code == 201
    try:
        answer = deployment.ok("PUT", f"/control/regions/{PRIMARY}", {"status": "refuse"})
        assert answer == {"region": PRIMARY, "status": "refuse", "previous": "up"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(deployment.ready.regions[PRIMARY] + "/health", timeout=2)
        _wait(lambda: _serving(deployment) == SECONDARY)
        edge = deployment.ok("GET", "/control/edge")
        assert edge["health"][PRIMARY]["healthy"] is False
        assert edge["health"][PRIMARY]["consecutive_failures"] >= 2
        assert _health_region(deployment) == SECONDARY
        assert deployment.ok("GET", "/control/replication")["pending"][f"{PRIMARY}->{SECONDARY}"] == 4
        assert deployment.api("GET", "/todos/lost-0", auth, fresh=True).status_code == 404  # not in the secondary
        assert deployment.api("POST", "/todos", auth, fresh=True, json={"title": "during"}).status_code == 201
        assert deployment.ctl("POST", "/control/table/backups", {}).status_code == 409  # the region is down
        assert deployment.ok("GET", "/control/state")["regions"][PRIMARY]["status"] == "refuse"
    finally:
        deployment.ok("PUT", f"/control/regions/{PRIMARY}", {"status": "up"})
        deployment.ok("PUT", "/control/replication", {"paused": False})
    _wait(lambda: _serving(deployment) == PRIMARY)
    _wait(lambda: deployment.ok("GET", "/control/replication")["pending"][f"{PRIMARY}->{SECONDARY}"] == 0)
    assert _region_get(deployment, SECONDARY, "/todos/lost-0", auth).status_code == 200
    actions = [e["action"] for e in deployment.ok("GET", "/control/log")["entries"]]
    assert "region.refuse" in actions and "edge.failover" in actions and "region.up" in actions


def test_blackholed_primary_makes_clients_time_out_then_fails_over(deployment):
    _wait(lambda: _serving(deployment) == PRIMARY)
    deployment.ok("PUT", f"/control/regions/{PRIMARY}", {"status": "blackhole"})
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(deployment.ready.regions[PRIMARY] + "/health", timeout=0.5)  # accepted, never answered
        _wait(lambda: _serving(deployment) == SECONDARY)
        assert _health_region(deployment) == SECONDARY
    finally:
        deployment.ok("PUT", f"/control/regions/{PRIMARY}", {"status": "up"})
    _wait(lambda: _serving(deployment) == PRIMARY)
    assert _health_region(deployment) == PRIMARY


def test_manual_switch_routes_to_the_chosen_region(deployment):
    deployment.ok("PUT", "/control/edge", {"active": SECONDARY})
    try:
        time.sleep(0.2)
        assert _health_region(deployment) == SECONDARY
        assert deployment.ok("GET", "/control/edge")["active"] == SECONDARY
    finally:
        deployment.ok("PUT", "/control/edge", {"active": None})
    time.sleep(0.2)
    assert _health_region(deployment) == PRIMARY
