"""The local provider against a running bundled service: every fault injected and reverted, every
remediation performed, each checked the way an ordinary API client sees the service."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import httpx
import pytest

from chaos.actions import CATALOG, ENGINE_ACTIONS, ActionCall, ActionKind
from chaos.local.provider import ACTIONS, LocalProvider
from chaos.provider import InjectedFault, RemediationContext
from chaos.targets import BundledTarget

PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"
_spec = importlib.util.spec_from_file_location(
    "control_conftest", Path(__file__).parents[2] / "service" / "control" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _helpers  # dataclasses look their module up there
_spec.loader.exec_module(_helpers)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    d = _helpers.start_deployment(tmp_path_factory.mktemp("local-provider"), regions=2, workers=1)
    d.ok("PUT", "/control/edge", {"interval_s": 0.2, "failure_threshold": 2})
    yield d
    _helpers.stop_deployment(d)


@pytest.fixture(scope="module")
def provider(deployment):
    p = LocalProvider(BundledTarget(url=deployment.url, data_dir=str(deployment.data_dir)))
    yield p
    p.close()


@pytest.fixture(scope="module")
def user(deployment):
    _, auth = deployment.token()
    for i in range(6):
        deployment.api("POST", "/todos", auth, json={"title": f"seed {i}", "id": f"seed-{i}"})
    return auth


def call(name: str, **params) -> ActionCall:
    return ActionCall(name=name, params=params)


def settle() -> None:
    time.sleep(0.25)  # every worker follows the control state within 200 ms


def _status(deployment, auth, path: str = "/todos") -> int:
    return deployment.api("GET", path, auth, fresh=True).status_code


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_every_catalog_action_is_supported():
    assert set(ACTIONS) == set(CATALOG) - ENGINE_ACTIONS


def test_preflight_is_clean_on_a_fresh_service(provider):
    assert provider.preflight([call(name) for name in ACTIONS]) == []
    assert provider.preflight([call("gremlins.everywhere")]) == ["the local provider cannot do 'gremlins.everywhere'"]


def test_deploy_bad_version_then_revert(deployment, provider, user):
    c = call("lambda.deploy-bad-version")
    undo = provider.inject(c)
    settle()
    r = deployment.api("GET", "/todos", user, fresh=True)
    assert r.status_code == 502 and "KeyError" in r.json()["error"]["message"]
    provider.revert(c, undo)
    provider.revert(c, undo)  # idempotent
    settle()
    assert _status(deployment, user) == 200


def test_rollback_remediation_restores_the_previous_version(deployment, provider, user):
    fault = call("lambda.deploy-bad-version")
    undo = provider.inject(fault)
    settle()
    assert _status(deployment, user) == 502
    done = provider.remediate(call("lambda.rollback"), RemediationContext(
        fault_at=time.time(), faults=(InjectedFault("bad", fault.name, undo),)))
    assert done["version"] == undo["previous_version"]
    settle()
    assert _status(deployment, user) == 200
    provider.revert(fault, undo)  # LIVE already moved away from the bad version: left alone
    assert deployment.ok("GET", "/control/function/versions")["aliases"]["LIVE"] == undo["previous_version"]


def _function_faults(deployment) -> dict:
    return deployment.ok("GET", "/control/state")["function"]["faults"]


def test_two_latency_faults_are_each_reverted_with_their_own_undo(deployment, provider, user):
    slow, slower = (call("lambda.add-latency", percentage=100, latency_ms=200),
                    call("lambda.add-latency", percentage=50, latency_ms=600))
    first = provider.inject(slow)
    in_effect = _function_faults(deployment)["latency"]
    second = provider.inject(slower)
    assert _function_faults(deployment)["latency"] == {"percentage": 50.0, "latency_ms": 600}
    assert first == {"previous": None} and second == {"previous": in_effect}  # each its own snapshot
    provider.revert(slower, second)  # newest first, as the tracker reverts
    assert _function_faults(deployment)["latency"] == in_effect  # exactly the first fault again
    settle()
    started = time.monotonic()
    assert _status(deployment, user) == 200 and time.monotonic() - started >= 0.2  # still in effect
    provider.revert(slow, first)
    provider.revert(slow, first)  # idempotent
    assert _function_faults(deployment) == {}


def test_rollback_after_two_bad_deploys_goes_to_the_version_before_the_first(deployment, provider, user):
    fault = call("lambda.deploy-bad-version")
    first, second = provider.inject(fault), provider.inject(fault)
    assert second["previous_version"] == first["bad_version"]  # the second's snapshot is the first's doing
    settle()
    assert _status(deployment, user) == 502
    context = RemediationContext(fault_at=time.time(), faults=(
        InjectedFault("bad-1", fault.name, first), InjectedFault("bad-2", fault.name, second)))
    done = provider.remediate(call("lambda.rollback"), context)
    assert (done["version"], done["fault"]) == (first["previous_version"], "bad-1")
    settle()
    assert _status(deployment, user) == 200
    for undo in (second, first):  # LIVE moved away from both bad versions: each revert leaves it alone
        provider.revert(fault, undo)
    assert deployment.ok("GET", "/control/function/versions")["aliases"]["LIVE"] == first["previous_version"]


def test_two_bad_deploys_reverted_newest_first_without_a_rollback(deployment, provider, user):
    fault = call("lambda.deploy-bad-version")

    def live() -> str:
        return deployment.ok("GET", "/control/function/versions")["aliases"]["LIVE"]

    before = live()
    first, second = provider.inject(fault), provider.inject(fault)
    provider.revert(fault, second)
    assert live() == first["bad_version"]
    provider.revert(fault, first)
    assert live() == before
    settle()
    assert _status(deployment, user) == 200


@pytest.mark.parametrize("name, params, expect", [
    ("lambda.invocation-error", {"percentage": 100}, 502),
    ("lambda.http-status", {"percentage": 100, "status_code": 503}, 503),
    ("lambda.reserved-concurrency", {"limit": 0}, 429),
])
def test_failing_faults_inject_and_revert(deployment, provider, user, name, params, expect):
    c = call(name, **params)
    undo = provider.inject(c)
    settle()
    assert _status(deployment, user) == expect
    provider.revert(c, undo)
    settle()
    assert _status(deployment, user) == 200


def test_latency_and_slow_invocations(deployment, provider, user):
    c = call("lambda.add-latency", percentage=100, latency_ms=300)
    undo = provider.inject(c)
    settle()
    started = time.monotonic()
    assert _status(deployment, user) == 200 and time.monotonic() - started >= 0.3
    provider.revert(c, undo)
    provider.remediate(call("lambda.update-config", timeout_s=0.5), RemediationContext(fault_at=None))
    slow = call("lambda.slow-invocations", percentage=100, duration_ms=2000)
    undo = provider.inject(slow)
    settle()
    assert _status(deployment, user) == 504
    provider.remediate(call("lambda.update-config", timeout_s=10, memory_mb=512), RemediationContext(fault_at=None))
    settle()
    started = time.monotonic()
    assert _status(deployment, user) == 200 and time.monotonic() - started >= 2.0  # slow, within the timeout
    provider.revert(slow, undo)
    assert deployment.ok("GET", "/control/state")["function"]["faults"] == {}


def test_delete_concurrency_remediation(deployment, provider, user):
    fault = call("lambda.reserved-concurrency", limit=0)
    undo = provider.inject(fault)
    settle()
    assert _status(deployment, user) == 429
    provider.remediate(call("lambda.delete-concurrency"), RemediationContext(fault_at=None))
    settle()
    assert _status(deployment, user) == 200
    provider.revert(fault, undo)
    assert deployment.ok("GET", "/control/state")["function"]["reserved"] is None


def test_table_corrupt_then_revert(deployment, provider, user):
    before = deployment.api("GET", "/todos", user, params={"limit": 100}).json()["items"]
    c = call("table.corrupt", fraction=1.0)
    undo = provider.inject(c)
    assert undo["items"] >= len(before)
    r = deployment.api("GET", "/todos", user, params={"limit": 100})
    assert r.status_code == 502 or r.json()["items"] != before
    provider.revert(c, undo)
    assert deployment.api("GET", "/todos", user, params={"limit": 100}).json()["items"] == before


def test_corruption_remediated_by_pitr_restore_and_repoint(deployment, provider, user):
    before = deployment.api("GET", "/todos", user, params={"limit": 100}).json()["items"]
    time.sleep(1.2)  # the restore point is 1 s before the fault
    fault = call("table.corrupt", fraction=1.0)
    fault_at = time.time()
    undo = provider.inject(fault)
    context = RemediationContext(fault_at=fault_at, faults=(InjectedFault("bad-rows", fault.name, undo),))
    done = provider.remediate(call("table.restore", source="pitr", target_table="todos-restored"), context)
    assert done["previous_table"] == "todos" and done["items"] >= len(before)
    settle()
    assert deployment.api("GET", "/health").json()["table"] == done["table"]
    assert deployment.api("GET", "/todos", user, params={"limit": 100}).json()["items"] == before
    provider.revert(fault, undo)
    deployment.ok("PUT", "/control/function/config", {"table_name": "todos"})


def test_backup_then_restore_from_backup(deployment, provider, user):
    backup = provider.remediate(call("table.backup"), RemediationContext(fault_at=None))
    assert backup["name"].startswith("todos-backup-")
    deployment.api("POST", "/todos", user, json={"title": "after the backup", "id": "late-1"})
    done = provider.remediate(call("table.restore", source="backup", target_table="todos-restored"),
                              RemediationContext(fault_at=None))
    assert done["table"].startswith("todos-restored")  # beside an earlier drill's restore
    settle()
    assert deployment.api("GET", "/todos/late-1", user).status_code == 404
    deployment.ok("PUT", "/control/function/config", {"table_name": "todos"})
    settle()
    assert deployment.api("GET", "/todos/late-1", user).status_code == 200


def test_table_throttle_then_revert(deployment, provider, user):
    c = call("table.throttle", read_capacity=0)
    undo = provider.inject(c)
    settle()
    r = deployment.api("GET", "/todos", user, fresh=True)
    assert r.status_code == 503 and r.json()["error"]["code"] == "ProvisionedThroughputExceededException"
    provider.revert(c, undo)
    settle()
    assert _status(deployment, user) == 200


def test_expire_tokens_then_revert(deployment, provider, user):
    time.sleep(1.0)  # the token's second is over: it predates the cut-off
    c = call("auth.expire-tokens")
    undo = provider.inject(c)
    settle()
    assert _status(deployment, user) == 401
    provider.revert(c, undo)
    settle()
    assert _status(deployment, user) == 200


def _serving(deployment) -> str:
    return deployment.ok("GET", "/control/edge")["serving"]


def test_pause_replication_then_revert(deployment, provider, user):
    c = call("region.pause-replication")
    undo = provider.inject(c)
    assert deployment.ok("GET", "/control/replication")["paused"] is True
    deployment.api("POST", "/todos", user, json={"title": "held back", "id": "held-1"})
    time.sleep(0.5)
    assert deployment.ok("GET", "/control/replication")["pending"][f"{PRIMARY}->{SECONDARY}"] >= 1
    provider.revert(c, undo)
    _wait(lambda: httpx.get(deployment.ready.regions[SECONDARY] + "/todos/held-1", headers=user).status_code == 200)


def test_region_outage_failover_and_failback(deployment, provider, user):
    outage = call("region.outage", region=PRIMARY, mode="refuse")
    undo = provider.inject(outage)
    assert deployment.ok("GET", "/control/state")["regions"][PRIMARY]["status"] == "refuse"
    with pytest.raises(httpx.ConnectError):
        httpx.get(deployment.ready.regions[PRIMARY] + "/health", timeout=2)
    provider.remediate(call("region.failover", to_region=SECONDARY), RemediationContext(fault_at=time.time()))
    assert _serving(deployment) == SECONDARY
    settle()
    assert deployment.api("GET", "/health", fresh=True).json()["region"] == SECONDARY
    provider.revert(outage, undo)
    # failback waits for the edge's own health checks to pass the primary again, then goes automatic
    provider.remediate(call("region.failback", to_region=PRIMARY), RemediationContext(fault_at=None))
    assert deployment.ok("GET", "/control/edge")["health"][PRIMARY]["healthy"]
    _wait(lambda: _serving(deployment) == PRIMARY)
    assert deployment.api("GET", "/health", fresh=True).json()["region"] == PRIMARY


def test_plan_describes_without_touching(provider, deployment):
    generation = deployment.ok("GET", "/control/state")["generation"]
    for name, spec in CATALOG.items():
        if name in ENGINE_ACTIONS:
            continue
        required = {k: 1 for k, f in spec.params.model_fields.items() if f.is_required()}
        if "fraction" in required:
            required["fraction"] = 0.5
        if "status_code" in required:
            required["status_code"] = 500
        assert provider.plan(call(name, **required))
    assert deployment.ok("GET", "/control/state")["generation"] == generation
    assert ActionKind.FAULT in {CATALOG[n].kind for n in ACTIONS}
