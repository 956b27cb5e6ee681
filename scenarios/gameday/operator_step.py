"""OperatorStep: one runbook step performed by a person, from page to action (or to the harness taking over).

When the step's trigger fires the harness pages instead of acting. It then watches, about once a
second: the acknowledgement (`hanbit-drill ack`, in the run directory) and the target itself, through
the provider's `observe`, for the runbook's action. The first action that matches the runbook ends the
step; one that does not is recorded as such and the step stays open. If nobody has acted by the
deadline (the step's `operator_timeout`, else the RTO), the harness performs the step itself so the
system is restored, and the RTO check fails with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.provider import Provider
from scenarios.fault_tracker import FaultTracker
from scenarios.gameday.acks import acknowledged, clear_page, post_page
from scenarios.gameday.pager import Page, Pager
from scenarios.gameday.runbook import render, template_for, values
from scenarios.models import DrillPlan, PlannedRemediation
from verify.journal import Journal, RemediationRecord

OBSERVE_EVERY_S = 1.0
DEFAULT_TIMEOUT_S = 300.0  # a step with neither an operator_timeout nor an RTO (scaled)


class OperatorStep:
    def __init__(self, index: int, step: PlannedRemediation, plan: DrillPlan, journal: Journal, run_dir: Path,
                 tracker: FaultTracker, provider: Provider, pager: Pager, runtime: dict[str, Any],
                 clock: Callable[[], float]) -> None:
        self.index = index
        self.step = step
        self.plan = plan
        self.journal = journal
        self.run_dir = run_dir
        self.tracker = tracker
        self.provider = provider
        self.pager = pager
        self.runtime = runtime
        self.clock = clock
        self.record: RemediationRecord | None = None
        self.done = False
        self._next_observation = 0.0

    def page(self) -> RemediationRecord:
        call = self.step.call
        record = self.record = self.tracker.open_step(call, by="operator")
        now = self.clock()
        template = template_for(self.step.runbook, self.plan.target.kind) or call.name
        record.runbook = render(template, values(self.plan.target, call, self.tracker.context(), self.runtime))
        timeout = self.step.operator_timeout_s or self.plan.rto_s or DEFAULT_TIMEOUT_S * self.plan.time_scale
        record.operator_deadline = (self.journal.fault_at or now) + timeout if self.step.operator_timeout_s is None \
            else now + timeout
        page = Page(
            run_id=self.journal.run_id, run_dir=str(self.run_dir), scenario=self.plan.scenario, step=self.index,
            action=call.name, fault=", ".join(f.id for f in self.plan.faults) or "-", paged_at=now,
            fault_at=self.journal.fault_at,
            rto_deadline=None if self.plan.rto_s is None or self.journal.fault_at is None
            else self.journal.fault_at + self.plan.rto_s,
            runbook=record.runbook, ack_command=f"hanbit-drill ack --report-dir {self.run_dir.parent.parent}",
        )
        record.paged_at = now
        post_page(self.run_dir, page)
        record.page_error = self.pager.send(page)
        self.tracker.save()
        return record

    def poll(self) -> bool:
        """Look at the acknowledgement and the target; True once the step is over."""
        record = self.record
        if record is None or self.done:
            return self.done
        assert record.paged_at is not None
        now = self.clock()
        changed = False
        if record.acknowledged_at is None and (ack := acknowledged(self.run_dir, self.index, record.paged_at)):
            record.acknowledged_at, record.acknowledged_by = ack.at, ack.by
            changed = True
        if now >= self._next_observation:
            self._next_observation = now + OBSERVE_EVERY_S * min(1.0, self.plan.time_scale * 4)
            seen = self.provider.observe(self.step.call, record.paged_at, self.tracker.context())
            if seen is not None and seen.at != record.action_observed_at:
                record.action_observed_at, record.action_matches_runbook = seen.at, seen.matches_runbook
                record.action_detail, record.action_by = seen.detail, seen.by
                changed = True
                if seen.matches_runbook:
                    self._finish(seen.at)
        if not self.done and record.operator_deadline is not None and now >= record.operator_deadline:
            record.taken_over_at = now
            clear_page(self.run_dir, self.index)
            self.done = True
            self.tracker.perform(record, self.step.call)  # restores the system; the RTO check says who did it
            return True
        if changed:
            self.tracker.save()
        return self.done

    def _finish(self, at: float) -> None:
        assert self.record is not None
        self.record.ended_at = at
        if self.journal.remediated_at is None:
            self.journal.remediated_at = at
        clear_page(self.run_dir, self.index)
        self.done = True

    def abandon(self) -> None:
        """The drill ends (stop condition, Ctrl-C): the page is withdrawn; faults are reverted as always."""
        clear_page(self.run_dir, self.index)
