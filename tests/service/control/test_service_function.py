"""Function actions through the control API of a running service, seen by an ordinary API client."""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_control_api_needs_the_admin_token(deployment):
    assert stat.S_IMODE(os.stat(deployment.data_dir / "admin.token").st_mode) == 0o600
    r = httpx.get(deployment.ready.control_url + "/control/state")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = httpx.get(deployment.ready.control_url + "/control/state", headers={"authorization": "Bearer nope"})
    assert r.status_code == 401
    assert deployment.ctl("GET", "/control/state").status_code == 200
    assert deployment.ready.control_url.startswith("http://127.0.0.1:")


def test_bad_deploy_fails_from_real_code_and_rollback_heals(deployment):
    _, auth = deployment.token()
    assert deployment.api("POST", "/todos", auth, json={"title": "before"}).status_code == 201
    bad = deployment.ok("POST", "/control/function/versions", {"code": "broken"})["version"]
    moved = deployment.ok("PUT", "/control/function/aliases/LIVE", {"version": bad})
    time.sleep(0.2)
    r = deployment.api("GET", "/todos", auth)
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "function_error" and "KeyError" in r.json()["error"]["message"]
    assert deployment.api("GET", "/health").status_code == 502
    deployment.ok("PUT", "/control/function/aliases/LIVE", {"version": moved["previous_version"]})
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200
    assert deployment.api("GET", "/health").json()["function_version"] == moved["previous_version"]
    log = [e["action"] for e in deployment.ok("GET", "/control/log")["entries"]]
    assert log[-3:] == ["function.publish-version", "function.update-alias", "function.update-alias"]


def test_state_changes_reach_every_worker_within_200_ms(deployment):
    bad = deployment.ok("POST", "/control/function/versions", {"code": "broken"})["version"]
    previous = deployment.ok("PUT", "/control/function/aliases/LIVE", {"version": bad})["previous_version"]
    try:
        time.sleep(0.2)
        # New connections spread over the workers: every one of them already runs the bad version.
        statuses = {deployment.api("GET", "/health", fresh=True).status_code for _ in range(30)}
        assert statuses == {502}
    finally:
        deployment.ok("PUT", "/control/function/aliases/LIVE", {"version": previous})
    time.sleep(0.2)
    assert {deployment.api("GET", "/health", fresh=True).status_code for _ in range(30)} == {200}


def test_reserved_concurrency_zero_stops_all_traffic(deployment):
    _, auth = deployment.token()
    answer = deployment.ok("PUT", "/control/function/concurrency", {"reserved": 0})
    try:
        time.sleep(0.2)
        r = deployment.api("GET", "/todos", auth)
        assert r.status_code == 429 and r.json()["error"]["code"] == "TooManyRequestsException"
    finally:
        deployment.ok("PUT", "/control/function/concurrency", {"reserved": answer["previous"]})
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200


def test_reserved_concurrency_counts_executions_across_workers(deployment):
    deployment.ok("PUT", "/control/function/concurrency", {"reserved": 1})
    deployment.ok("PUT", "/control/function/faults/latency", {"percentage": 100, "latency_ms": 400})
    try:
        time.sleep(0.2)
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda _: deployment.api("GET", "/health", fresh=True).status_code, range(6)))
        assert statuses.count(200) >= 1 and statuses.count(429) >= 3  # at most one runs at a time
        assert set(statuses) <= {200, 429}
    finally:
        deployment.ok("DELETE", "/control/function/faults/latency")
        deployment.ok("PUT", "/control/function/concurrency", {"reserved": None})


def test_function_timeout_answers_504(deployment):
    _, auth = deployment.token()
    config = deployment.ok("PUT", "/control/function/config", {"timeout_s": 0.3})
    deployment.ok("PUT", "/control/function/faults/timeout", {"percentage": 100, "duration_ms": 3000})
    try:
        time.sleep(0.2)
        started = time.monotonic()
        r = deployment.api("GET", "/todos", auth)
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        assert time.monotonic() - started < 3  # cut at the function timeout, not after the 3 s run
    finally:
        deployment.ok("DELETE", "/control/function/faults/timeout")
        deployment.ok("PUT", "/control/function/config", {"timeout_s": config["previous"]["timeout_s"]})
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200


def test_injected_faults_each_kind(deployment):
    _, auth = deployment.token()
    try:
        deployment.ok("PUT", "/control/function/faults/exception", {"percentage": 100})
        time.sleep(0.2)
        r = deployment.api("GET", "/todos", auth)
        assert r.status_code == 502 and "FailureInjectionException" in r.json()["error"]["message"]
        deployment.ok("DELETE", "/control/function/faults/exception")
        deployment.ok("PUT", "/control/function/faults/status", {"percentage": 100, "status_code": 503})
        time.sleep(0.2)
        assert deployment.api("GET", "/todos", auth).status_code == 503
        deployment.ok("PUT", "/control/function/faults/status", {"percentage": 50, "status_code": 500})
        time.sleep(0.2)
        statuses = [deployment.api("GET", "/todos", auth).status_code for _ in range(60)]
        assert 0 < statuses.count(500) < 60 and set(statuses) == {200, 500}
        deployment.ok("DELETE", "/control/function/faults/status")
        deployment.ok("PUT", "/control/function/faults/latency", {"percentage": 100, "latency_ms": 300})
        time.sleep(0.2)
        started = time.monotonic()
        assert deployment.api("GET", "/todos", auth).status_code == 200
        assert time.monotonic() - started >= 0.3
        state = deployment.ok("GET", "/control/state")
        assert state["function"]["faults"] == {"latency": {"percentage": 100.0, "latency_ms": 300}}
    finally:
        for kind in ("exception", "status", "latency"):
            deployment.ok("DELETE", f"/control/function/faults/{kind}")
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200


def test_not_before_rejects_older_tokens_until_cleared(deployment):
    name, auth = deployment.token()
    time.sleep(1.0)  # the cut-off is in whole seconds: the old token's second must be over
    deployment.ok("PUT", "/control/auth/not-before", {"epoch_s": time.time()})
    try:
        time.sleep(0.2)
        r = deployment.api("GET", "/todos", auth)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert deployment.api("GET", "/todos", deployment.sign_in(name)).status_code == 200  # a new sign-in works
    finally:
        deployment.ok("DELETE", "/control/auth/not-before")
    time.sleep(0.2)
    assert deployment.api("GET", "/todos", auth).status_code == 200
