"""The edge, health checks and region outages with stand-in region servers (real processes and sockets)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.control.changelog import ChangeLog
from service.control.state import PRIMARY, SECONDARY, RegionStatus, initial_state
from service.control.store import StateStore
from service.regions.health import HealthChecker
from service.regions.region_process import RegionProcess, answers

TOY = Path(__file__).with_name("toy_region.py")
INTERVAL = 0.2
THRESHOLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopThread:
    """An asyncio loop in a thread, for the health checker (as in the supervisor)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    ports = {PRIMARY: free_port(), SECONDARY: free_port()}
    state = initial_state([PRIMARY, SECONDARY], interval_s=INTERVAL, failure_threshold=THRESHOLD)
    for name, port in ports.items():
        state.regions[name].port = port
    store = StateStore.create(root / "state.json", state)
    regions = {name: RegionProcess(name, [sys.executable, str(TOY), name, str(port)], port=port,
                                   log_file=root / f"{name}.log", start_timeout_s=15)
               for name, port in ports.items()}
    for region in regions.values():
        region.start()
    edge_port = free_port()
    edge = subprocess.Popen([sys.executable, "-m", "service.regions.edge", "--state", str(root / "state.json"),
                             "--port", str(edge_port)])
    deadline = time.monotonic() + 15
    while not answers(edge_port) and time.monotonic() < deadline:
        time.sleep(0.05)
    log = ChangeLog(root / "changes.jsonl")
    loops = LoopThread()
    checker = HealthChecker(store, path="/", timeout_s=0.5, log=log)
    loops.run(_start(checker))
    yield store, regions, f"http://127.0.0.1:{edge_port}", checker, log
    loops.run(checker.stop())
    loops.close()
    edge.terminate()
    edge.wait(10)
    for region in regions.values():
        region.stop()


async def _start(checker: HealthChecker) -> None:
    checker.start()


def _who(url: str, timeout: float = 0.5) -> str:
    try:
        return httpx.get(url + "/", timeout=timeout).text
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _wait_for(predicate, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
    return time.monotonic() - started


def _outage(store, regions, region: str, status: RegionStatus) -> None:
    store.update(lambda s: setattr(s.regions[region], "status", status))
    regions[region].set_status(status)


def _switch(state, active: str | None) -> None:
    """A manual switch (active) or back to automatic failover (None), as PUT /control/edge does."""
    state.edge.active = active
    state.edge.serving = active or state.failover_target()


@pytest.fixture
def drill(world):
    """The module's world, put back afterwards (primary up and serving, automatic failover) even when
    a test failed halfway: else a killed or frozen primary fails every later test as well."""
    store, regions, _url, _checker, _ = world
    yield world
    _outage(store, regions, PRIMARY, RegionStatus.UP)
    store.update(lambda s: _switch(s, None))
    _wait_for(lambda: store.read().edge.serving == PRIMARY)


# The edge checks the state file as it accepts a connection, so once the file says where traffic
# goes, the very next connection goes there: the tests ask the edge right after reading the file.


def test_edge_routes_to_the_primary_and_fails_over_when_it_refuses(drill):
    store, regions, url, checker, log = drill
    assert _who(url) == PRIMARY
    _outage(store, regions, PRIMARY, RegionStatus.REFUSE)
    assert not answers(regions[PRIMARY].port)  # really closed
    during = [_who(url) for _ in range(3)]  # before the threshold is reached: connections fail
    assert all(w != PRIMARY for w in during)
    waited = _wait_for(lambda: store.read().edge.serving == SECONDARY)
    assert waited >= 0 and checker.health()[PRIMARY]["healthy"] is False
    assert checker.health()[PRIMARY]["consecutive_failures"] >= THRESHOLD
    assert _who(url) == SECONDARY
    # The checker logs the failover just after writing it to the state, so the entry may lag a little.
    _wait_for(lambda: any(e.action == "edge.failover" for e in log.entries()), timeout=5)
    _outage(store, regions, PRIMARY, RegionStatus.UP)
    _wait_for(lambda: store.read().edge.serving == PRIMARY)
    assert _who(url) == PRIMARY


def test_blackholed_primary_makes_clients_time_out_until_failover(drill):
    store, regions, url, _checker, _ = drill
    _wait_for(lambda: store.read().edge.serving == PRIMARY)
    _outage(store, regions, PRIMARY, RegionStatus.BLACKHOLE)
    assert all(p.status() == "stopped" for p in regions[PRIMARY].processes())
    assert _who(url, timeout=0.3) in ("ReadTimeout", SECONDARY)
    _wait_for(lambda: store.read().edge.serving == SECONDARY)
    assert _who(url) == SECONDARY
    _outage(store, regions, PRIMARY, RegionStatus.UP)
    _wait_for(lambda: store.read().edge.serving == PRIMARY)
    assert _who(url) == PRIMARY


def test_manual_switch_overrides_health(drill):
    store, _regions, url, _checker, _ = drill
    _wait_for(lambda: store.read().edge.serving == PRIMARY)
    assert _who(url) == PRIMARY
    store.update(lambda s: _switch(s, SECONDARY))
    assert _who(url) == SECONDARY  # the next connection already follows the switch
    store.update(lambda s: _switch(s, None))
    assert store.read().edge.serving == PRIMARY  # both healthy: automatic failover serves the primary
    assert _who(url) == PRIMARY
