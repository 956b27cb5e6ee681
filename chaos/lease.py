"""One drill at a time per target: a lease, taken before the first fault and released after the last revert.

Two drills on one target would measure each other: one's rollback ends the other's outage, one's revert
puts back the other's fault. So a drill holds the target's lease while it runs (and `cleanup --target`
while it sweeps): a record of who holds it, for which run, since when and until when. Each kind of target
keeps the record where every harness that can act on the target can see it (`LeaseStore`: an SSM
parameter in an AWS account, a lock file in a bundled service's data directory); this class is the same
for all of them.

A lease expires unless renewed (`LeaseKeeper` renews it while a drill runs, however long), so a holder
killed with `kill -9` or a machine that vanished blocks the target only until its expiry. A holder on
this machine whose process is gone is stale at once. A stale lease is taken over, and the taker is told
whose it was.

The stores have no compare-and-swap on update (SSM has none): creating the record is atomic (only one of
two drills starting at once gets it), a takeover re-reads the stale record before removing it, and the
holder re-reads its own before each renewal. Two harnesses taking over the same stale lease within the
same instant could both remove it; the later create then fails for one of them, who is refused.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import psutil
from pydantic import BaseModel, ConfigDict

from common.durations import format_duration
from common.errors import TargetError

LEASE_TTL_S = 300.0  # a killed holder blocks the target at most this long
RENEW_EVERY_S = 60.0  # well inside the TTL: four renewals may fail before it lapses
_TAKEOVER_ATTEMPTS = 3


class LeaseRecord(BaseModel):
    """Who holds a target, as stored with it (JSON)."""

    model_config = ConfigDict(frozen=True)

    owner: str  # user@host
    host: str
    pid: int
    run_id: str  # the holder's run directory (suite/scenario), or "cleanup"
    acquired_at: float  # epoch s
    expires_at: float  # epoch s; moved on by each renewal
    token: str  # this holder's identity: owner and pid repeat across runs

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.acquired_at))
        return f"{self.owner} (pid {self.pid}, run {self.run_id}) since {since}"

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def holder_gone(self) -> bool:
        """The holder ran on this machine and its process is no longer there (a pid now someone else's
        started after the lease was taken). Nothing can be said of a holder on another machine."""
        if self.host != socket.gethostname():
            return False
        try:
            return psutil.Process(self.pid).create_time() > self.acquired_at + 1.0
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return True
        except psutil.AccessDenied:
            return False

    def stale(self, now: float) -> str | None:
        """Why this lease no longer holds the target (None: it does)."""
        if self.expired(now):
            return f"expired {format_duration(now - self.expires_at)} ago"
        if self.holder_gone():
            return f"its process {self.pid} on {self.host} is gone"
        return None


class LeaseStore(Protocol):
    """Where a kind of target keeps its lease record."""

    where: str  # for messages: "SSM parameter /hanbit-drill/drill.lease/todo-api (ap-northeast-2)"

    def read(self) -> LeaseRecord | None:
        """The stored record (None: nobody holds the target)."""

    def create(self, record: LeaseRecord) -> bool:
        """Store `record` only if there is none, atomically. False: there is one."""

    def replace(self, record: LeaseRecord) -> None:
        """Overwrite the record (a renewal by its holder)."""

    def delete(self) -> None:
        """Remove the record; no error if there is none."""


class LeaseHeldError(TargetError):
    """Another live drill (or cleanup) holds the target."""


class LeaseLostError(TargetError):
    """The lease this run held is no longer its own (taken over after it lapsed, or removed by hand)."""


def this_holder(run_id: str, ttl_s: float, now: float) -> LeaseRecord:
    host = socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return LeaseRecord(owner=f"{user}@{host}", host=host, pid=os.getpid(), run_id=run_id, acquired_at=now,
                       expires_at=now + ttl_s, token=uuid.uuid4().hex)


class TargetLease:
    def __init__(self, store: LeaseStore, target_name: str, run_id: str, *, ttl_s: float = LEASE_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.target_name = target_name
        self.run_id = run_id
        self.ttl_s = ttl_s
        self.clock = clock  # wall time: the record is compared by harnesses on other machines
        self.record: LeaseRecord | None = None  # ours, while held

    def holder(self) -> LeaseRecord | None:
        """Whoever holds the target now (a stale record is nobody)."""
        found = self.store.read()
        return found if found is not None and found.stale(self.clock()) is None else None

    def acquire(self) -> LeaseRecord | None:
        """Take the lease. Returns the stale lease taken over (None: it was free); raises LeaseHeldError
        naming the holder while another live one has it."""
        taken_over: LeaseRecord | None = None
        for _ in range(_TAKEOVER_ATTEMPTS):
            mine = this_holder(self.run_id, self.ttl_s, self.clock())
            if self.store.create(mine):
                self.record = mine
                return taken_over
            current = self.store.read()
            if current is None:
                continue  # released meanwhile: try again
            if current.stale(self.clock()) is None:
                raise self._held_by(current)
            again = self.store.read()  # remove the stale one only if it is still the one we judged
            if again is not None and again.token == current.token:
                self.store.delete()
                taken_over = current
        current = self.store.read()
        raise self._held_by(current) if current is not None else LeaseHeldError(
            f"target {self.target_name!r}: could not take its lease ({self.store.where}): others keep taking it"
        )

    def renew(self) -> LeaseRecord:
        """Move our expiry on. Raises LeaseLostError when the record is no longer ours."""
        if self.record is None:
            raise LeaseLostError(f"target {self.target_name!r}: this run holds no lease to renew")
        current = self.store.read()
        if current is None or current.token != self.record.token:
            self.record = None
            by = f"; it is now held by {current.describe()}" if current is not None else " (removed)"
            raise LeaseLostError(f"target {self.target_name!r}: this run's lease ({self.store.where}) is gone{by}")
        renewed = current.model_copy(update={"expires_at": self.clock() + self.ttl_s})
        self.store.replace(renewed)  # only a stored expiry counts: a failed write leaves the old one in force
        self.record = renewed
        return renewed

    def release(self) -> None:
        """Give the lease up, if it is still ours (a lease taken over meanwhile is the new holder's)."""
        if self.record is None:
            return
        current = self.store.read()
        if current is not None and current.token == self.record.token:
            self.store.delete()
        self.record = None

    def _held_by(self, current: LeaseRecord) -> LeaseHeldError:
        left = max(0.0, current.expires_at - self.clock())
        return LeaseHeldError(
            f"target {self.target_name!r} is held by {current.describe()}: one drill at a time per target. The "
            f"lease ({self.store.where}) lapses in {format_duration(left)} unless its holder renews it"
        )
