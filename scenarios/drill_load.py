"""The engine's view of the load: a LoadRunner polled for merged per-second samples."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from chaos.targets import Target
from common.errors import LoadError
from loadtests.plan import LoadPlan
from loadtests.records import LedgerRecord, SecondSample
from scenarios.models import DrillPlan
from scenarios.target_session import load_auth


class LoadHandle(Protocol):
    def start(self) -> None: ...
    def poll(self, timeout: float) -> list[SecondSample]: ...
    def stop(self) -> None: ...
    def ledger_records(self) -> list[LedgerRecord]: ...
    def accounts(self) -> list[tuple[str, str]]: ...
    def tokens(self) -> dict[str, str]: ...
    def id_prefix(self) -> str | None: ...


LoadFactory = Callable[[str, DrillPlan, Path], LoadHandle]


def drill_load_plan(plan: DrillPlan) -> LoadPlan:
    """The drill's load, trusting its target's CA and signing in the target's way (its Cognito pool),
    unless the `load:` block names its own."""
    return for_target(plan.load, plan.target)


def for_target(load: LoadPlan, target: Target) -> LoadPlan:
    """`load` with what the target says of the CA to trust and of how to sign in, where `load` says nothing."""
    update: dict[str, object] = {}
    if load.ca_bundle is None and target.ca_bundle is not None:
        update["ca_bundle"] = target.ca_bundle
    if load.auth is None and (auth := load_auth(target)) is not None:
        update["auth"] = auth
    return load.model_copy(update=update) if update else load


class DrillLoad:
    """Runs the drill's LoadPlan in Locust processes and hands the engine each second as it closes."""

    def __init__(self, url: str, plan: DrillPlan, run_dir: Path) -> None:
        from loadtests.runner import LoadRunner  # starts Locust in subprocesses; never imports locust here

        self._seconds: queue.Queue[SecondSample] = queue.Queue()
        self.runner = LoadRunner(url, drill_load_plan(plan), run_dir / "load", on_sample=self._seconds.put)

    def start(self) -> None:
        self.runner.start()

    def poll(self, timeout: float) -> list[SecondSample]:
        try:
            samples = [self._seconds.get(timeout=timeout)]
        except queue.Empty:
            if self.runner.ended:
                raise LoadError("the load generator stopped before the drill ended; see load/ in the run directory")
            return []
        while True:
            try:
                samples.append(self._seconds.get_nowait())
            except queue.Empty:
                return samples

    def stop(self) -> None:
        self.runner.stop()

    def ledger_records(self) -> list[LedgerRecord]:
        return self.runner.ledger_records()

    def accounts(self) -> list[tuple[str, str]]:
        return [(a.username, a.password) for a in self.runner.accounts()]

    def tokens(self) -> dict[str, str]:
        """A fresh bearer token per account (username -> token), signed in the load's way (Cognito for an
        aws target that names a pool): what a read-back after the drill needs."""
        return self.runner.sign_in()

    def id_prefix(self) -> str | None:
        """What every todo id this load creates begins with (None before it started): the drill's own items."""
        return self.runner.id_prefix
