"""The target's lease (chaos.lease) over the bundled kind's store, a lock file: one holder at a time, who
and since when for the refused, stale leases (lapsed, or a holder process gone) taken over, renewals that
notice a lost lease, releases that never remove another's."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.lease import LeaseHeldError, LeaseLostError, LeaseRecord, TargetLease
from chaos.local.lease_store import LockFileLeaseStore
from common.errors import ExitCode


class Clock:
    """Wall time that only moves when a test moves it (a holder on this machine is judged by its process's
    start time, so the clock starts at the real now)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


def lease(tmp_path: Path, clock: Clock, run_id: str, ttl_s: float = 300.0) -> TargetLease:
    return TargetLease(LockFileLeaseStore(tmp_path), "serve", run_id, ttl_s=ttl_s, clock=clock)


def test_a_second_holder_is_refused_with_who_holds_it_and_since_when(tmp_path: Path) -> None:
    clock = Clock()
    first = lease(tmp_path, clock, "20250615-120000/lambda-failure")
    assert first.acquire() is None
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(clock.now))
    clock.now += 90
    with pytest.raises(LeaseHeldError) as refused:
        lease(tmp_path, clock, "20250615-120130/table-corruption").acquire()
    message = str(refused.value)
    assert f"target 'serve' is held by {getpass.getuser()}@{socket.gethostname()} (pid {os.getpid()}, " in message
    assert f"run 20250615-120000/lambda-failure) since {since}" in message
    assert "lapses in 3m30s" in message and str(tmp_path / "drill.lease") in message
    assert refused.value.exit_code == ExitCode.TARGET_ERROR
    assert first.holder() == first.record  # the refused one changed nothing


def test_a_lapsed_lease_is_taken_over_and_named(tmp_path: Path) -> None:
    clock = Clock()
    first = lease(tmp_path, clock, "killed-run")
    first.acquire()
    clock.now += 301
    second = lease(tmp_path, clock, "next-run")
    taken = second.acquire()
    assert taken is not None and taken.run_id == "killed-run" and taken.stale(clock()) == "expired 1s ago"
    assert second.holder() is not None and second.holder().run_id == "next-run"
    with pytest.raises(LeaseLostError, match="now held by .*run next-run"):
        first.renew()  # the first holder, back from a long pause, learns it lost the target
    first.release()
    assert second.holder() is not None  # and does not remove the new holder's lease


def test_a_holder_whose_process_is_gone_is_stale_at_once(tmp_path: Path) -> None:
    """A run killed with kill -9 on this machine: the next one takes the target without waiting for the expiry."""
    clock = Clock()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(ended.stdout)
    record = LeaseRecord(owner="me@here", host=socket.gethostname(), pid=pid, run_id="kill-9",
                         acquired_at=clock.now - 5, expires_at=clock.now + 295, token="t")
    assert LockFileLeaseStore(tmp_path).create(record)
    taken = lease(tmp_path, clock, "after").acquire()
    assert taken == record and taken.stale(clock()) == f"its process {pid} on {record.host} is gone"


def test_a_holder_on_another_machine_holds_until_its_lease_lapses(tmp_path: Path) -> None:
    clock = Clock()
    record = LeaseRecord(owner="ci@runner-7", host="runner-7", pid=1, run_id="ci", acquired_at=clock.now,
                         expires_at=clock.now + 300, token="t")
    LockFileLeaseStore(tmp_path).create(record)
    with pytest.raises(LeaseHeldError, match="ci@runner-7"):
        lease(tmp_path, clock, "mine").acquire()
    clock.now += 300
    assert lease(tmp_path, clock, "mine").acquire() == record


def test_renewal_moves_the_expiry_and_release_frees_the_target(tmp_path: Path) -> None:
    clock = Clock()
    held = lease(tmp_path, clock, "long-drill", ttl_s=300)
    held.acquire()
    for _ in range(36):  # a 3-hour drill, renewed every 5 minutes: never lapses
        clock.now += 299
        assert held.renew().expires_at == clock.now + 300
    assert lease(tmp_path, clock, "other").holder() is not None
    held.release()
    assert not (tmp_path / "drill.lease").exists()
    assert lease(tmp_path, clock, "other").acquire() is None


def test_an_unreadable_lock_file_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / "drill.lease").write_text("locked by hand")
    taken = lease(tmp_path, Clock(), "mine").acquire()
    assert taken is not None and taken.owner == "unknown"


def test_of_two_creators_only_one_gets_the_file(tmp_path: Path) -> None:
    store = LockFileLeaseStore(tmp_path)
    a, b = (LeaseRecord(owner=o, host="h", pid=1, run_id=o, acquired_at=0, expires_at=9e9, token=o) for o in "ab")
    assert store.create(a) is True
    assert store.create(b) is False
    assert store.read() == a and not list(tmp_path.glob(".drill.lease.*"))  # no temporary file left
