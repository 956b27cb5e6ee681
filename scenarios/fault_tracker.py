"""Injects faults through a provider and guarantees they are undone.

Every injection is journaled to disk *before* the provider is called, so a run
killed at any instant leaves a record from which `hanbit-drill cleanup` can
revert it. Reverts are idempotent, run in reverse order, and one failing
revert does not stop the others.

Each fault is known by its scenario id, never by its action name: a scenario may make the same action
twice (two latencies, two bad deploys), and each fault keeps, reverts with and hands runbook steps its
own undo data.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from pathlib import Path

from chaos.actions import ActionCall
from chaos.provider import InjectedFault, Provider, RemediationContext
from common.errors import HarnessError, InvalidInputError, ProviderError
from verify.journal import FaultRecord, Journal, RemediationRecord

log = logging.getLogger(__name__)


class FaultTracker:
    def __init__(
        self,
        journal: Journal,
        journal_path: Path,
        provider: Provider,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.path = journal_path
        self.provider = provider
        self.clock = clock

    def save(self) -> None:
        self.journal.save(self.path)

    def inject(self, fault_id: str, call: ActionCall) -> FaultRecord:
        if any(f.id == fault_id for f in self.journal.faults):
            # Undo data is keyed by fault id: a second fault under the same id would make the two ambiguous.
            raise InvalidInputError(
                f"fault id {fault_id!r} is already in this drill's journal: give each fault its own id"
            )
        record = FaultRecord(
            id=fault_id,
            action=call.name,
            parameters=dict(call.params),
            provider=self.provider.name,
            target=self.journal.target,
            intended_at=self.clock(),
        )
        self.journal.faults.append(record)
        self.save()  # journaled before the system is touched
        try:
            record.undo = self.provider.inject(call)
        except HarnessError:
            # It may be half-applied: keep it open so the final revert (or cleanup) undoes it.
            self.save()
            raise
        except Exception as exc:  # a provider bug must still leave a revertable record
            self.save()
            raise ProviderError(f"inject {call.name} failed: {exc}") from exc
        record.injected_at = self.clock()
        if self.journal.fault_at is None:
            # The fault starts acting while the call is still in progress: time the drill from its start.
            self.journal.fault_at = record.intended_at
        self.save()
        return record

    def revert(self, record: FaultRecord) -> bool:
        """Undo one fault. Returns True if it is (now) reverted."""
        if record.reverted_at is not None:
            return True
        call = ActionCall(name=record.action, params=record.parameters)
        try:
            self.provider.revert(call, record.undo)
        except Exception as exc:  # keep going: the other faults must still be reverted
            record.revert_error = str(exc) or type(exc).__name__
            log.error("revert of %s (%s) failed: %s", record.id, record.action, record.revert_error)
            self.save()
            return False
        record.reverted_at = self.clock()
        record.revert_error = None
        self.save()
        return True

    def revert_by_id(self, fault_id: str) -> bool:
        matching = [f for f in self.journal.faults if f.id == fault_id]
        return all(self.revert(f) for f in matching)

    def revert_all(self) -> list[FaultRecord]:
        """Revert every open fault, newest first. Returns those that could not be reverted."""
        failed = [f for f in reversed(self.journal.open_faults()) if not self.revert(f)]
        return failed

    def injected(self) -> tuple[InjectedFault, ...]:
        """The faults made so far, each with its own undo data, by fault id (never by action name)."""
        return tuple(
            InjectedFault(id=f.id, action=f.action, undo=copy.deepcopy(f.undo), reverted=f.reverted_at is not None)
            for f in self.journal.faults
            if f.injected_at is not None
        )

    def remediate(self, call: ActionCall, *, setup: bool = False) -> RemediationRecord:
        """Run a runbook step (or, with `setup`, a preparation step such as a backup before the fault)."""
        return self.perform(self.open_step(call), call, setup=setup)

    def context(self) -> RemediationContext:
        return RemediationContext(fault_at=self.journal.fault_at, faults=self.injected())

    def open_step(self, call: ActionCall, *, by: str = "harness") -> RemediationRecord:
        """Journal a runbook step before anything is done for it (an operator's step is only paged)."""
        record = RemediationRecord(action=call.name, parameters=dict(call.params), started_at=self.clock(), by=by)
        self.journal.remediations.append(record)
        self.save()
        return record

    def perform(self, record: RemediationRecord, call: ActionCall, *, setup: bool = False) -> RemediationRecord:
        """The harness performs the step `record` journals."""
        try:
            if call.name == "revert-fault":
                fault_id = str(call.params["fault"])
                if not self.revert_by_id(fault_id):
                    raise ProviderError(f"could not revert fault {fault_id!r}")
            else:
                record.detail = self.provider.remediate(call, self.context())
        except Exception as exc:
            record.error = str(exc) or type(exc).__name__
            raise
        finally:
            record.ended_at = self.clock()
            if not setup and record.error is None and self.journal.remediated_at is None:
                self.journal.remediated_at = record.ended_at
            self.save()
        return record
