"""The fault-provider protocol: what the engine asks of every kind of target.

The engine talks to every target through this protocol and never branches on
the provider type. Which provider serves which kind of target is the registry of
target kinds (`scenarios.target_kinds`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import JsonValue

from chaos.actions import ActionCall

Undo = dict[str, JsonValue]


@dataclass(frozen=True)
class InjectedFault:
    """One fault of the drill that was made, as a runbook step sees it."""

    id: str  # the scenario's fault id: unique per scenario, so two faults of one action stay apart
    action: str
    undo: Undo  # what this very fault changed (its own snapshot, never another fault's)
    reverted: bool = False  # undone already (a `revert-fault` step)


@dataclass(frozen=True)
class RemediationContext:
    """What a runbook step may need to know about the drill so far.

    Undo data is keyed by fault id, never by action name: a scenario may inject the same action twice
    (two latencies, two bad deploys), and each fault keeps its own snapshot.
    """

    fault_at: float | None  # epoch seconds of the first injected fault
    faults: tuple[InjectedFault, ...] = ()  # the injected faults, in the order they were made

    @property
    def undo_by_fault(self) -> dict[str, Undo]:
        return {f.id: f.undo for f in self.faults}

    def fault(self, fault_id: str) -> InjectedFault | None:
        """The fault a step refers to by id (e.g. its `params.fault`)."""
        return next((f for f in self.faults if f.id == fault_id), None)

    def first_fault(self, actions: Collection[str], *, having: str | None = None) -> InjectedFault | None:
        """The earliest fault of one of `actions` (whose undo data has `having`), for a step that undoes what
        such faults did: its snapshot is the state before the first of them, e.g. the version LIVE had before
        the drill's first bad deploy. A later one's snapshot may be the earlier fault's doing (its bad version),
        whichever order the two were reverted in."""
        matching = (f for f in self.faults if f.action in actions and (having is None or f.undo.get(having)))
        return next(matching, None)


@dataclass(frozen=True)
class ObservedAction:
    """An operator's change to the target, seen after they were paged (game-day steps)."""

    at: float  # epoch seconds the target recorded the change
    matches_runbook: bool  # the runbook's action with the runbook's values, complete
    detail: str  # what was seen, and what differs from the runbook when it does
    by: str | None = None  # who made it, when the target says (e.g. CloudTrail's user)


@dataclass(frozen=True)
class Leftover:
    """Something drills left on the target, found on the target itself (no journal needed): a fault still in
    effect, an experiment or template a killed run left. `hanbit-drill cleanup --target` lists and clears them."""

    kind: str  # what sort of thing: "fault marker", "FIS experiment template", "function fault", ...
    name: str  # its name on the target (an SSM parameter, a template id, a region)
    detail: str  # what it means, in a line
    clearable: bool = True  # False: a runbook step's lasting state (a failover), reported and left alone


@runtime_checkable
class Provider(Protocol):
    name: ClassVar[str]
    supported_actions: ClassVar[frozenset[str]]
    observable_actions: ClassVar[frozenset[str]]  # runbook steps `observe` can see an operator take

    def preflight(self, calls: list[ActionCall]) -> list[str]:
        """Check the target can take and undo each call. Returns problems (empty = fine). Injects nothing."""

    def plan(self, call: ActionCall) -> list[str]:
        """The exact operations `inject`/`remediate` and `revert` would make, one per line. Touches nothing."""

    def inject(self, call: ActionCall) -> Undo:
        """Make the fault real. Returns what `revert` needs (a snapshot of what was changed)."""

    def revert(self, call: ActionCall, undo: Undo) -> None:
        """Undo a fault. Idempotent: reverting twice, or a fault that was never applied, is fine."""

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        """Perform a runbook step. Returns details for the journal (e.g. restored table name)."""

    def observe(self, call: ActionCall, since: float, context: RemediationContext) -> ObservedAction | None:
        """An operator's action since `since` that performs (or attempts) the runbook step `call`: the first
        complete match, else the last attempt that does not match, else None. Changes nothing."""

    def alarm_times(self, since: float) -> dict[str, float | None]:
        """The target's own detection alarms, by name: when each first went to ALARM at or after `since`
        (epoch s; None: not yet). Empty when the target names no alarm (the drill then judges detection
        with its alarm model). Changes nothing."""

    def leftovers(self) -> list[Leftover]:
        """What drills left on the target that is still there, found on the target alone (a killed run's
        journal may be on another machine, or gone). Changes nothing."""

    def clear(self, leftover: Leftover) -> str:
        """Undo one leftover (revert the fault, stop and delete the experiment). Idempotent; raises when
        something of it is still there afterwards. Returns what was done, in a line."""

    def close(self) -> None:
        """Release clients and connections."""
