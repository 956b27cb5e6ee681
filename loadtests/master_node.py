"""The Locust master's part of a run: merge worker reports, write the stream, decide when it is over."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from loadtests.health import GeneratorMonitor
from loadtests.ledger import FileLedger
from loadtests.merger import SecondMerger
from loadtests.partial import SecondPartial
from loadtests.plan import LoadModel
from loadtests.records import GeneratorHealth
from loadtests.session import STREAM_FILE, LoadSession
from loadtests.shapes import LoadShape
from loadtests.stream import EventKind, StreamEvent, StreamWriter

log = logging.getLogger(__name__)

_TICK_S = 0.1
_GRACE_S = 2.0  # how long a second waits for a late worker before it is emitted without it
_END_MARGIN_S = 3.0
_SPAWN_S_PER_USER = 0.0002  # after the last deadline, workers that never said "done" are given up


class MasterNode:
    def __init__(self, session: LoadSession, run_dir: Path, workers: Callable[[], set[str]]) -> None:
        self.session = session
        self.plan = session.plan
        self.run_dir = run_dir
        self.shape = LoadShape.of(self.plan)
        self._workers = workers
        self.start = math.inf  # set by `begin` when Locust starts the test
        self.end = math.inf
        self.merger = SecondMerger(self._target_rps, grace_s=_GRACE_S)
        self.stream = StreamWriter(run_dir / STREAM_FILE)
        self.monitor = GeneratorMonitor(self._note_health)
        self._done_workers: set[str] = set()
        self._remote_ledgers: dict[str, FileLedger] = {}
        self._late = 0
        self.finished = False

    def _target_rps(self, t: int) -> float | None:
        level = self.shape.level(t + 0.5 - self.start)
        if self.plan.model is LoadModel.OPEN:
            return level
        think = self.plan.think_time_s
        return round(level) / think if think > 0 else None

    def _note_health(self, t: int, health: GeneratorHealth) -> None:
        self.merger.note_own_health(t, health)

    def begin(self, worker_count: int) -> None:
        # Time zero on a whole second, so sample `t` lines up with the plan's seconds, with headroom (1-2 s)
        # for the spawn message to reach the workers and the users to be created (which blocks a
        # worker for about 100 us a user): requests must not be due while that is still going on.
        users = self.shape.peak() if self.plan.model is LoadModel.CLOSED else 0
        self.start = math.ceil(time.time() + 1.0) + math.ceil(users * _SPAWN_S_PER_USER / max(worker_count, 1))
        self.end = self.start + self.plan.duration_s
        self.stream.write(
            StreamEvent(kind=EventKind.START, start_epoch=self.start, end_epoch=self.end, workers=worker_count)
        )
        self.monitor.start()
        gevent.spawn(self._run)

    def on_report(self, worker: str, data: dict[str, Any]) -> None:
        for raw in data.get("parts", []):
            self.merger.add(worker, SecondPartial.from_message(raw))
        lines = data.get("ledger")
        if lines:
            ledger = self._remote_ledgers.get(worker)
            if ledger is None:
                ledger = self._remote_ledgers[worker] = FileLedger(self.run_dir / f"ledger-remote-{worker}.jsonl")
            ledger.write_lines(lines)
        if data.get("done"):
            self._done_workers.add(worker)
            self._late += int(data.get("late", 0))

    def _run(self) -> None:
        give_up = self.end + self.plan.request_timeout_s + _END_MARGIN_S
        while True:
            gevent.sleep(_TICK_S)
            workers = self._workers()
            over = time.time() >= self.end and workers <= self._done_workers
            if not over and time.time() >= give_up:
                log.warning("workers %s never finished; closing the run", sorted(workers - self._done_workers))
                over = True
            for sample in self.merger.ready(workers, flush=over):
                self.stream.write(StreamEvent(kind=EventKind.SECOND, sample=sample))
            if over:
                break
        late = self._late + self.merger.late_partials
        self.stream.write(StreamEvent(kind=EventKind.END, end_epoch=time.time(), late=late))
        self.stream.close()
        for ledger in self._remote_ledgers.values():
            ledger.close()
        self.monitor.stop()
        self.finished = True

    def closed_users(self) -> int:
        """Closed model: users the Locust shape should run now (the t=0 level before the start)."""
        return max(self.shape.users(max(time.time() - self.start, 0.0)), 1)
