"""Hold a target's lease for as long as a drill (or a cleanup) runs: take it, renew it, give it back.

Renewal runs on its own thread, not in the engine's loop: a runbook step can block that loop for many
minutes (a PITR restore waits until the new table is ACTIVE), far longer than a lease lives. A renewal
that fails (the store unreachable for a moment) is retried sooner; the lease is lost when it is no
longer this run's (taken over after it lapsed, removed by hand) or when it lapses before a renewal got
through. The engine then stops the drill and reverts its faults (`check`): another drill may hold the
target now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from chaos.lease import RENEW_EVERY_S, LeaseLostError, LeaseRecord, TargetLease
from common.errors import HarnessError

log = logging.getLogger(__name__)

RETRY_S = 5.0  # after a failed renewal


class LeaseKeeper:
    def __init__(self, lease: TargetLease, *, renew_every_s: float = RENEW_EVERY_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.lease = lease
        self.renew_every_s = renew_every_s
        self.clock = clock
        self.taken_over: LeaseRecord | None = None  # the stale lease this run took over, if any
        self.lost: str | None = None  # why the lease is no longer ours
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> LeaseRecord | None:
        """Acquire (LeaseHeldError while another live holder has it) and start renewing. Returns the stale
        lease taken over, to be reported."""
        self.taken_over = self.lease.acquire()
        self._thread = threading.Thread(target=self._renew_loop, name="lease-keeper", daemon=True)
        self._thread.start()
        return self.taken_over

    def check(self) -> None:
        """Raise LeaseLostError if the lease was lost: the caller stops (and reverts what it did)."""
        if self.lost is not None:
            raise LeaseLostError(self.lost)

    def release(self) -> None:
        """Stop renewing and give the lease back (if still ours). Never raises: a release that fails leaves
        a lease that lapses by itself."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.lease.release()
        except HarnessError as exc:
            log.warning("releasing the lease failed (it lapses by itself): %s", exc)

    def _renew_loop(self) -> None:
        wait = self.renew_every_s
        while not self._stop.wait(wait):
            record = self.lease.record
            try:
                self.lease.renew()
                wait = self.renew_every_s
            except LeaseLostError as exc:
                self.lost = str(exc)
                return
            except Exception as exc:  # the store unreachable for a moment: try again soon, while it still holds
                if record is not None and self.clock() >= record.expires_at:
                    self.lost = f"the lease lapsed before it could be renewed ({self.lease.store.where}): {exc}"
                    return
                log.warning("renewing the lease failed, retrying in %.0f s: %s", RETRY_S, exc)
                wait = min(RETRY_S, self.renew_every_s)
