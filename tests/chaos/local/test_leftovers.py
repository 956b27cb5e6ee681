"""What drills left on a running bundled service, found from its control plane alone and undone
(`cleanup --target serve`), checked the way an API client sees the service."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from chaos.actions import ActionCall
from chaos.local.provider import LocalProvider
from chaos.targets import BundledTarget

SECONDARY = "ap-northeast-1"
_spec = importlib.util.spec_from_file_location(
    "control_conftest", Path(__file__).parents[2] / "service" / "control" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _helpers
_spec.loader.exec_module(_helpers)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    d = _helpers.start_deployment(tmp_path_factory.mktemp("leftovers"), regions=2, workers=1)
    yield d
    _helpers.stop_deployment(d)


def provider_of(deployment) -> LocalProvider:
    return LocalProvider(BundledTarget(url=deployment.url, data_dir=str(deployment.data_dir)))


def test_a_killed_drills_faults_are_found_and_cleared_without_its_journal(deployment) -> None:
    _, auth = deployment.token()
    for i in range(20):
        deployment.api("POST", "/todos", auth, json={"title": f"seed {i}", "id": f"seed-{i}"})
    killed = provider_of(deployment)
    for name, params in [("lambda.invocation-error", {}), ("region.outage", {"region": SECONDARY}),
                         ("region.pause-replication", {}), ("table.throttle", {"read_capacity": 1}),
                         ("table.corrupt", {"fraction": 0.5})]:
        killed.inject(ActionCall(name=name, params=params))
    killed.close()
    time.sleep(0.25)  # every worker follows the control state within 200 ms
    assert deployment.api("GET", "/todos", auth, fresh=True).status_code >= 500

    provider = provider_of(deployment)
    found = provider.leftovers()
    assert sorted((f.kind, f.name) for f in found if f.kind != "table corruption") == [
        ("function fault", "exception"), ("region outage", SECONDARY), ("replication pause", "replication"),
        ("table throttle", "todos")]
    (corruption,) = [f for f in found if f.kind == "table corruption"]
    assert "10 item(s) of todos corrupted" in corruption.detail
    for left in found:
        assert provider.clear(left).startswith("cleared the ")
    assert provider.leftovers() == []
    time.sleep(0.25)
    listed = deployment.api("GET", "/todos", auth, params={"limit": 100}, fresh=True)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 20
    assert all(item["title"].startswith("seed ") for item in listed.json()["items"])  # corrupted rows put back
    assert provider.preflight([]) == []
    provider.close()
