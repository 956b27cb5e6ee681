"""What the load sees when the target misbehaves: a stall, error responses, a dead port."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from common.errors import TargetError
from loadtests.plan import LoadPlan
from loadtests.records import SecondSample, WriteOutcome
from loadtests.runner import LoadRunner, free_port

if TYPE_CHECKING:
    from conftest import FakeService


def at(runner: LoadRunner, offset: float) -> None:
    assert runner.start_epoch is not None
    time.sleep(max(runner.start_epoch + offset - time.time(), 0))


def collect(runner: LoadRunner) -> dict[int, SecondSample]:
    samples = {s.t: s for s in runner.samples()}
    runner.wait(30)
    return samples


def test_stall_errors_and_a_dead_port_as_the_load_sees_them(fake_service: FakeService, tmp_path: Path) -> None:
    """One run, three faults: a 2 s stall, 1 s of 503s, then the target process dies.

    No coordinated omission: arrivals keep their schedule while the target stalls, so the stalled
    seconds carry their full count with latencies up to the stall, not a dip then a burst. Errors are
    requests too, each classified once, and the ledger says which writes failed.
    """
    runner = LoadRunner(fake_service.url, LoadPlan(model="open", rps=40, duration_s=8, accounts=2), tmp_path)
    try:
        runner.start()
        at(runner, 1.0)
        fake_service.stall(2.0)
        at(runner, 4.0)
        fake_service.fail(503, 1.0)
        at(runner, 6.0)
        fake_service.kill()
        killed_at = time.time()
        samples = collect(runner)
    finally:
        runner.stop()
    t0 = int(runner.start_epoch or 0)
    assert sorted(samples) == [t0 + i for i in range(8)]
    assert [s.requests for s in samples.values()] == [40] * 8
    before, stall_1, stall_2 = samples[t0], samples[t0 + 1], samples[t0 + 2]
    assert before.p90_ms < 500 and not before.failures
    # Sent during the first stalled second, answered when the stall ended: 1 to 2 s late.
    assert stall_1.p50_ms > 1000 and stall_1.max_ms > 1500 and not stall_1.failures
    assert stall_2.max_ms > 500 and not stall_2.failures

    failures: dict[str, int] = {}
    for s in samples.values():
        for kind, n in s.failures.items():
            failures[kind] = failures.get(kind, 0) + n
    # A request in flight when the process dies sees its connection reset.
    assert {"http_503", "connection_refused"} <= set(failures) <= {"http_503", "connection_refused", "connection_reset"}
    assert 20 <= failures["http_503"] <= 60  # about one second of 40 RPS
    assert failures["connection_refused"] >= 40  # the last two seconds
    assert failures.get("connection_reset", 0) <= 5

    records = runner.ledger_records()
    by_status = {(r.outcome, r.status) for r in records}
    assert (WriteOutcome.FAILED, 503) in by_status
    assert (WriteOutcome.FAILED, None) in by_status  # refused: never reached the service
    assert all(r.outcome is not WriteOutcome.ACKNOWLEDGED for r in records if r.sent_at > killed_at + 0.5)
    assert runner.summary().error_rate > 0.15


def test_stop_mid_stall_still_ledgers_every_write_in_flight(fake_service: FakeService, tmp_path: Path) -> None:
    """Stopping while writes hang in a stalled target: they finish within their deadline and their
    outcome reaches the ledger, so every todo the target holds is one the ledger knows about."""
    runner = LoadRunner(fake_service.url, LoadPlan(model="open", rps=40, duration_s=30, accounts=2), tmp_path)
    try:
        runner.start()
        at(runner, 1.0)
        fake_service.stall(1.5)
        at(runner, 1.5)
        runner.stop()  # with writes in flight
    finally:
        runner.stop()
    records = runner.ledger_records()
    ledgered = {(r.user, r.id) for r in records}
    stored = set()
    with httpx.Client(base_url=fake_service.url, timeout=10) as client:
        for account in runner.accounts():
            token = client.post("/auth/token", json=account.model_dump()).json()["access_token"]
            items = client.get("/todos?all=1", headers={"Authorization": f"Bearer {token}"}).json()["items"]
            stored |= {(account.username, item["id"]) for item in items}
    assert stored and stored <= ledgered
    t0 = runner.start_epoch or 0
    # Writes sent well inside the stall were still in flight at stop(): answered when it ended.
    in_stall = [r for r in records if t0 + 1.2 <= r.sent_at < t0 + 1.5]
    assert in_stall and all(r.completed_at >= t0 + 2.3 for r in in_stall)


def test_unreachable_target_is_a_target_error(tmp_path: Path) -> None:
    runner = LoadRunner(f"http://127.0.0.1:{free_port()}", LoadPlan(model="open", rps=5, duration_s=1), tmp_path)
    with pytest.raises(TargetError, match="cannot reach"):
        runner.start()
    runner.stop()  # nothing started; stop is still safe
    assert not list(tmp_path.glob("locust-*.log"))
