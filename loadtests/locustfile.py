"""The Locust entry point of the load runner: `locust -f loadtests/locustfile.py --master|--worker`.

Only Locust processes import this (it monkey-patches with gevent); the caller drives them through
`loadtests.runner.LoadRunner`. The master reads the session file and passes it to every worker in
Locust's spawn message (custom options travel with it), so workers on other machines need only the
master's address. Locust's own statistics are not used: requests are measured by `TodoJourney`.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape, User, events, task
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from loadtests.master_node import MasterNode
from loadtests.plan import LoadModel
from loadtests.session import LoadSession
from loadtests.worker_node import REPORT_MESSAGE, WorkerNode

log = logging.getLogger("hanbit.load")

_IDLE_S = 3600.0  # a closed-model user whose run is over waits here until the master quits
_STATE: dict[str, Any] = {"master": None, "worker": None}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--hanbit-session-file", default="", help="load session JSON (master)", include_in_web_ui=False)
    # Filled in by the master and carried to workers with every spawn message.
    parser.add_argument("--hanbit-session", default="", help="(internal)", include_in_web_ui=False)
    parser.add_argument("--hanbit-start", type=float, default=0.0, help="(internal)", include_in_web_ui=False)
    parser.add_argument("--hanbit-workers", type=int, default=0, help="(internal)", include_in_web_ui=False)


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        path = Path(environment.parsed_options.hanbit_session_file)
        text = path.read_text()
        environment.parsed_options.hanbit_session = text
        session = LoadSession.model_validate_json(text)
        _STATE["master"] = MasterNode(session, path.parent, lambda: _live_workers(runner))
        runner.register_message(REPORT_MESSAGE, _on_report)


def _on_report(environment: Environment, msg: Any) -> None:
    node: MasterNode | None = _STATE["master"]
    if node is not None:
        node.on_report(msg.node_id, msg.data)


def _live_workers(runner: MasterRunner) -> set[str]:
    return {c.id for c in runner.clients.values() if c.state != STATE_MISSING}


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    options = environment.parsed_options
    master: MasterNode | None = _STATE["master"]
    if isinstance(runner, MasterRunner) and master is not None and master.end == math.inf:
        options.hanbit_workers = len(_live_workers(runner))
        master.begin(options.hanbit_workers)
        options.hanbit_start = master.start
    elif isinstance(runner, WorkerRunner) and _STATE["worker"] is None:
        session = LoadSession.model_validate_json(options.hanbit_session)
        worker = WorkerNode(
            session,
            options.hanbit_start,
            runner.worker_index,
            options.hanbit_workers,
            send=runner.send_message,
            active_users=lambda: runner.user_count,
        )
        _STATE["worker"] = worker
        worker.start_reporting()


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    worker: WorkerNode | None = _STATE["worker"]
    if worker is not None and not worker.done:
        worker.report_once()  # whatever closed before the quit still reaches the master
    if worker is not None:
        worker.stop()


class ClosedUser(User):
    """A closed-model user: a randomised pace around `think_time_s`, one request at a time."""

    def on_start(self) -> None:
        self.node: WorkerNode = _STATE["worker"]
        self.actor = self.node.new_actor()
        self.intended: float | None = None
        self.t: int | None = None  # second registered for the next request, not yet sent

    def wait_time(self) -> float:
        # Runs in Locust's WAITING state, so a ramp-down kills the user here, never mid-request.
        at = self.node.next_intended(self.intended)
        if at is None:
            self.t = None
            return _IDLE_S
        self.intended = at
        self.t = self.node.collector.expect(at)
        return max(at - time.time(), 0.0)

    @task
    def step(self) -> None:
        if self.t is None or self.intended is None:
            return  # first round: wait_time schedules the first request
        t, self.t = self.t, None
        self.node.journey.step(self.actor, self.intended, t)

    def on_stop(self) -> None:
        if self.t is not None:
            self.node.collector.cancel(self.t)
            self.t = None


class OpenDriver(User):
    """The open model's arrival scheduler: one per worker, it is not a user but a stream of them."""

    @task
    def drive(self) -> None:
        node: WorkerNode = _STATE["worker"]
        node.drive_arrivals()
        gevent.sleep(_IDLE_S)


class PlanShape(LoadTestShape):
    """Users per tick from the plan: the closed model's shape, or one open-model driver per worker."""

    def tick(self) -> tuple[int, float, list[type[User]]] | None:
        node: MasterNode | None = _STATE["master"]
        if node is None or node.finished:
            return None
        if node.plan.model is LoadModel.OPEN:
            assert isinstance(self.runner, MasterRunner)
            n = max(len(_live_workers(self.runner)), 1)
            return n, n, [OpenDriver]
        users = node.closed_users()
        return users, max(users, 1), [ClosedUser]

