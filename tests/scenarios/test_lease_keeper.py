"""LeaseKeeper: the lease renewed on its own thread while a drill runs, and a lost lease told to the drill.

Waits poll for a condition with a generous deadline; nothing asserts how long anything took."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chaos.lease import LeaseHeldError, LeaseLostError, LeaseRecord, TargetLease
from chaos.local.lease_store import LockFileLeaseStore
from common.errors import ProviderError
from scenarios.lease_keeper import LeaseKeeper


def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


def test_the_lease_is_renewed_until_released(tmp_path: Path) -> None:
    store = LockFileLeaseStore(tmp_path)
    keeper = LeaseKeeper(TargetLease(store, "serve", "run-1", ttl_s=300), renew_every_s=0.01)
    assert keeper.take() is None
    first = store.read()
    eventually(lambda: store.read().expires_at > first.expires_at)
    keeper.check()  # still ours
    with pytest.raises(LeaseHeldError):
        TargetLease(store, "serve", "run-2").acquire()
    keeper.release()
    assert store.read() is None


def test_a_lease_taken_over_is_lost_and_the_drill_is_told(tmp_path: Path) -> None:
    store = LockFileLeaseStore(tmp_path)
    keeper = LeaseKeeper(TargetLease(store, "serve", "run-1"), renew_every_s=0.01)
    keeper.take()
    other = LeaseRecord(owner="bob@other", host="other", pid=7, run_id="run-2", acquired_at=0, expires_at=9e9,
                        token="bob")
    store.replace(other)  # as a takeover after a lapse leaves it
    eventually(lambda: keeper.lost is not None)
    with pytest.raises(LeaseLostError, match="now held by bob@other"):
        keeper.check()
    keeper.release()
    assert store.read() == other  # the new holder's lease stays


class FlakyStore(LockFileLeaseStore):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.down = False

    def read(self) -> LeaseRecord | None:
        if self.down:
            raise ProviderError("ssm:GetParameter: endpoint unreachable")
        return super().read()


def test_renewals_that_fail_until_the_lease_lapses_lose_it(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path)
    now = [time.time()]
    keeper = LeaseKeeper(TargetLease(store, "staging", "run-1", ttl_s=300, clock=lambda: now[0]),
                         renew_every_s=0.01, clock=lambda: now[0])
    keeper.take()
    store.down = True
    time.sleep(0.05)
    assert keeper.lost is None  # failures within the lease's life are retried
    now[0] += 301
    eventually(lambda: keeper.lost is not None)
    assert "lapsed before it could be renewed" in keeper.lost and "endpoint unreachable" in keeper.lost
    store.down = False
    keeper.release()
