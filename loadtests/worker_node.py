"""Everything one Locust worker process holds for a run: pool, collector, ledger, journeys, reports.

Created when the master's spawn message brings the session (see `loadtests.locustfile`). The open
model's arrival scheduler lives here too: Locust has no arrival rate of its own, so each worker sends
its share of one evenly spaced stream, timing every request from its scheduled instant.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import random
import secrets
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import gevent

from loadtests.collector import SecondCollector
from loadtests.health import GeneratorMonitor
from loadtests.http_pool import HttpPool
from loadtests.journeys import AccountAuth, Actor, TodoJourney
from loadtests.ledger import FileLedger, ForwardLedger
from loadtests.plan import LoadModel
from loadtests.records import GeneratorHealth
from loadtests.session import RUN_DIR_ENV, LoadSession
from loadtests.shapes import LoadShape
from loadtests.signin import TokenKeeper, wire_for

log = logging.getLogger(__name__)

REPORT_MESSAGE = "hanbit_seconds"
_REPORT_EVERY_S = 0.1
_HOLD_MARGIN_S = 2.0  # beyond the request deadline before a second is closed by force
_DISPATCH_SLACK_S = 0.0005  # arrivals due within this are sent in the same wake-up
_FREEZE_EVERY_S = 30.0
_NEVER = 1 << 30  # generation-1 collections before a full one


class WorkerNode:
    def __init__(
        self,
        session: LoadSession,
        start_epoch: float,
        index: int,
        workers: int,
        send: Callable[[str, dict[str, Any]], None],
        active_users: Callable[[], int],
    ) -> None:
        self.session = session
        self.plan = session.plan
        self.start = start_epoch
        self.end = start_epoch + self.plan.duration_s
        self.end_t = math.ceil(self.end)
        self.index = index % max(workers, 1)
        self.workers = max(workers, 1)
        self._send = send
        self._active_users = active_users
        self.tag = f"{session.run_id}-{secrets.token_hex(3)}"
        self.collector = SecondCollector(start_epoch, self.plan.request_timeout_s + _HOLD_MARGIN_S)
        if self.plan.model is LoadModel.OPEN:
            self.collector.watermark = start_epoch  # nothing is scheduled before the start
        run_dir = os.environ.get(RUN_DIR_ENV)
        self.ledger: FileLedger | ForwardLedger = (
            FileLedger(Path(run_dir) / f"ledger-{self.tag}.jsonl") if run_dir else ForwardLedger()
        )
        self.pool = HttpPool(session.target_url, self.plan.connections, cadata=session.ca_pem)
        # The target's way of signing in (its own /auth endpoints, or a Cognito pool), and the greenlet
        # that renews every kept token before it expires.
        self.wire = wire_for(self.plan.auth, self.pool)
        self.keeper = TokenKeeper(self.wire, self.plan.request_timeout_s)
        self.journey = TodoJourney(
            self.pool, self.collector, self.ledger, self.plan.weights, self.plan.request_timeout_s, f"{self.tag}-",
            self.wire, self.keeper,
        )
        # One actor per pool account: its token and the todos this worker knows it holds.
        self.actors = [Actor(AccountAuth.of(a)) for a in session.accounts]
        for actor in self.actors:
            self.keeper.watch(actor.auth)
        self._next_user = count()
        self.monitor = GeneratorMonitor(self._note_health)
        self.scheduling_done = self.plan.model is LoadModel.CLOSED
        self.done = False
        self._reporter: gevent.Greenlet | None = None

    def start_reporting(self) -> None:
        # A full (generation 2) collection walks every long-lived object: with 10,000 sleeping users
        # (their greenlets, timers, waiters) that is a 100-300 ms pause of the event loop, billed
        # to the target as latency. Young generations are still collected as usual; long-lived
        # objects are frozen out of the collector's sight every so often (see `_report_loop`). What
        # cyclic garbage survives into generation 2 is left for the process exit: there is little,
        # as the hot path creates no reference cycles.
        gen0, gen1, _ = gc.get_threshold()
        gc.set_threshold(gen0, gen1, _NEVER)
        self.monitor.start()
        self.keeper.start()
        self._reporter = gevent.spawn(self._report_loop)

    def stop(self) -> None:
        # Every write in flight gets its outcome into the ledger before it closes; none starts after.
        self.journey.closed = True
        deadline = time.monotonic() + self.plan.request_timeout_s + 1.0
        while self.journey.in_flight and time.monotonic() < deadline:
            gevent.sleep(0.02)
        self.monitor.stop()
        self.keeper.stop()
        if self._reporter is not None:
            self._reporter.kill(block=False)
        self.ledger.close()
        self.wire.close()
        self.pool.close()
        # In the worker's log: many connects mean many handshakes (TLS) or a server closing connections.
        log.info("connections opened: %d, TLS sessions resumed: %d", self.pool.connects, self.pool.resumed)

    def _note_health(self, t: int, health: GeneratorHealth) -> None:
        users = self._active_users() if self.plan.model is LoadModel.CLOSED else 0
        self.collector.note_health(t, health, users)

    # -- actors ---------------------------------------------------------------------------------

    def new_actor(self) -> Actor:
        """Closed model: a simulated user on the next pool account (round robin across workers).

        Users of one account share what it knows (its todos): otherwise 10,000 users, each starting
        with no todo to read or change, would only create for minutes and skew the journey mix.
        """
        actor = self.actors[(next(self._next_user) * self.workers + self.index) % len(self.actors)]
        if self.plan.signin_storm:
            # Signs in for itself on its first step (and keeps its token fresh from then on).
            return Actor(AccountAuth(actor.auth.username, actor.auth.password), actor.book)
        return actor

    # -- open model -----------------------------------------------------------------------------

    def drive_arrivals(self) -> None:
        """Open model: send this worker's share of the planned arrivals, each at its own instant."""
        shape = LoadShape.of(self.plan)
        actors = self.actors
        picks = count(self.index)
        for offset in shape.arrivals(share=1.0 / self.workers, phase=self.index / self.workers):
            intended = self.start + offset
            delay = intended - time.time()
            if delay > _DISPATCH_SLACK_S:
                self.collector.watermark = intended
                gevent.sleep(delay)
            t = self.collector.expect(intended)
            actor = actors[next(picks) % len(actors)]
            if self.plan.signin_storm:  # an identity for this one request: no keeper holds on to it
                actor = Actor(AccountAuth(actor.auth.username, actor.auth.password, keep_fresh=False), actor.book)
            gevent.spawn(self.journey.step, actor, intended, t)
        self.collector.watermark = None
        self.scheduling_done = True

    # -- closed model pacing --------------------------------------------------------------------

    def next_intended(self, previous: float | None) -> float | None:
        """When a closed-model user sends next. None once the run is over.

        Each user sends every `think_time_s` on its own random phase, so N users offer exactly
        N / think_time_s requests a second, evenly spread (no phase-locked bursts, whatever the order
        Locust spawned them in). A user never has two requests in flight: a slot that passed while
        its previous request was still running is skipped, as a waiting user would.
        """
        now = time.time()
        period = self.plan.think_time_s
        if period <= 0:
            at = max(now, self.start)
        else:
            at = self.start + random.uniform(0, period) if previous is None else previous + period
            if at < now:
                at += math.ceil((now - at) / period) * period
        return at if at < self.end else None

    # -- reports to the master -----------------------------------------------------------------

    def _report_loop(self) -> None:
        frozen_users = -1
        frozen_at = 0.0
        while not self.done:
            gevent.sleep(_REPORT_EVERY_S)
            self.report_once()
            users = self._active_users()
            if users != frozen_users or time.monotonic() - frozen_at > _FREEZE_EVERY_S:
                gc.freeze()
                frozen_users, frozen_at = users, time.monotonic()

    def report_once(self) -> None:
        over = self.scheduling_done and time.time() >= self.end and self.collector.in_flight == 0
        parts = self.collector.close_ready(until=self.end_t if over else None)
        over = over and self.collector.next_t >= self.end_t  # the last seconds may await their health
        data: dict[str, Any] = {"parts": [p.to_message() for p in parts]}
        if isinstance(self.ledger, ForwardLedger):
            data["ledger"] = self.ledger.drain()
        if over:
            data["done"] = True
            data["late"] = self.collector.late_results
            self.done = True
        if parts or data.get("ledger") or over:
            self._send(REPORT_MESSAGE, data)
