"""The drill engine: preflight -> seed -> load -> baseline -> inject -> detect -> remediate
-> recover -> verify -> revert -> report, with every fault reverted whatever happens.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chaos.actions import ActionCall
from chaos.lease import TargetLease
from chaos.provider import Provider
from chaos.targets import REGION_ACTIONS
from common.errors import HarnessError, PreflightError
from common.messages import current
from loadtests.served_region import ServedRegionSampler
from scenarios.detection_watch import DetectionWatch
from scenarios.drill_load import DrillLoad, LoadFactory, LoadHandle, drill_load_plan
from scenarios.drill_signals import DrillInterrupted, deferred_signals, signals_raise
from scenarios.fault_tracker import FaultTracker
from scenarios.gameday.operator_step import OperatorStep
from scenarios.gameday.pager import Pager
from scenarios.lease_keeper import LeaseKeeper
from scenarios.models import DrillPlan, PlannedRemediation
from scenarios.progress import DrillProgress
from scenarios.schedule import DrillSchedule, StopWatch
from scenarios.target_kinds import provider_for, session_for
from scenarios.target_session import TargetSession
from verify.journal import Journal, PhaseName, PhaseRecord, RunStatus
from verify.recovery import RecoveryTracker
from verify.windows import window_stats

log = logging.getLogger(__name__)

WARMUP_S = 2  # first seconds of load, excluded from the baseline (connections and caches warm up)
JOURNAL_SAVE_EVERY_S = 5.0


class DrillAborted(HarnessError):
    """A stop condition or a failed baseline ended the drill early (faults reverted)."""


class DrillEngine:
    def __init__(
        self,
        plan: DrillPlan,
        run_dir: Path,
        *,
        load_factory: LoadFactory = DrillLoad,
        session: TargetSession | None = None,
        progress: DrillProgress | None = None,
        provider_factory: Callable[..., Provider] = provider_for,
        clock: Callable[[], float] = time.time,
        served_region_factory: Callable[[str, DrillPlan], ServedRegionSampler] | None = None,
        pager: Pager | None = None,
    ) -> None:
        self.plan = plan
        run_dir = Path(run_dir).absolute()  # the journal records paths that `cleanup` uses from anywhere
        self.run_dir = run_dir
        self.journal_path = run_dir / "journal.json"
        self.load_factory = load_factory
        self.session = session or session_for(plan.target)
        self.progress = progress or DrillProgress(plan)
        self.clock = clock
        self.provider_factory = provider_factory
        self.served_region_factory = served_region_factory or _served_region_sampler
        self.served: ServedRegionSampler | None = None  # a region drill's which-region-served-each-second
        self.journal = Journal(
            run_id=run_dir.name or uuid.uuid4().hex[:8],
            scenario=plan.scenario,
            description=plan.description,
            profile=plan.profile,
            target=plan.target_name,
            target_kind=plan.target.kind,
            expected_to_fail=plan.expected_to_fail,
            started_at=clock(),
            time_scale=plan.time_scale,
            rto_s=plan.rto_s,
            rpo_s=plan.rpo_s,
            sustained_s=plan.sustained_s,
            target_config=plan.target.model_dump(mode="json"),
            slo=plan.slo,
            alarm=plan.detection,
            harness_pid=os.getpid(),
        )
        self.tracker: FaultTracker | None = None
        self.detection: DetectionWatch | None = None  # first bad second and alarm time, from the first fault
        self.load: LoadHandle | None = None
        self.lease: LeaseKeeper | None = None  # one drill at a time on the target, held from before the preflight
        self.operators: list[OperatorStep] = []  # game-day steps paged so far
        self.pager = pager or Pager(self.progress.console, current())
        self._last_save = 0.0
        self.error: BaseException | None = None  # why the run ended in ERROR, for the CLI

    # ---- journal helpers -----------------------------------------------------------------

    def _save(self) -> None:
        self.journal.save(self.journal_path)
        self._last_save = self.clock()

    def _phase_start(self, name: PhaseName, at: float | None = None) -> PhaseRecord:
        record = PhaseRecord(name=name, started_at=at if at is not None else self.clock())
        self.journal.phases.append(record)
        self.progress.phase(name)
        self._save()
        return record

    def _phase_end(self, name: PhaseName, at: float | None = None) -> None:
        record = self.journal.phase(name)
        if record is not None and record.ended_at is None:
            record.ended_at = at if at is not None else self.clock()

    # ---- the run -------------------------------------------------------------------------

    def run(self) -> Journal:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._save()
        provider: Provider | None = None
        try:
            with signals_raise():
                self._start_target()
                self._hold_target()
                provider = self.provider_factory(self.plan.target, **self.session.provider_runtime())
                self.tracker = FaultTracker(self.journal, self.journal_path, provider, clock=self.clock)
                self.detection = DetectionWatch(self.plan, provider, self.journal)
                self._preflight(provider)
                self._seed()
                self._drive()
                self._verify()
        except DrillAborted as exc:
            self._finish(RunStatus.ABORTED, str(exc))
        except (KeyboardInterrupt, DrillInterrupted) as exc:
            self._finish(RunStatus.ABORTED, f"interrupted ({type(exc).__name__})")
        except HarnessError as exc:
            self._finish(RunStatus.ERROR, str(exc))
            self.error = exc
        except Exception as exc:  # a harness bug: still revert, then let the CLI show it under --debug
            self._finish(RunStatus.ERROR, f"{type(exc).__name__}: {exc}")
            self.error = exc
        finally:
            with deferred_signals():  # a second Ctrl-C must not interrupt the revert
                self._teardown(provider)
        return self.journal

    def _start_target(self) -> None:
        self.session.start(self.run_dir)
        self.journal.service_pid = self.session.service_pid
        self.journal.service_url = self.session.api_url
        self.journal.service_data_dir = self.session.data_dir
        self.journal.provider_runtime = self.session.provider_runtime()
        self._save()

    def _hold_target(self) -> None:
        """Take the target's lease before anything is checked or injected: a second drill is refused, with
        who holds the target and since when; a lapsed lease is taken over and said so."""
        lease = TargetLease(self.session.lease_store(), self.plan.target_name,
                            f"{self.run_dir.parent.name}/{self.run_dir.name}")
        keeper = LeaseKeeper(lease)
        taken_over = keeper.take()
        self.lease = keeper
        if taken_over is not None:
            why = taken_over.stale(time.time()) or "released"
            self.progress.console.print(f"[yellow]took over the lease on {self.plan.target_name!r} of "
                                        f"{taken_over.describe()} ({why})[/]", soft_wrap=True)

    def _preflight(self, provider: Provider) -> None:
        self._phase_start(PhaseName.PREFLIGHT)
        problems = provider.preflight(self.plan.provider_calls())
        self._phase_end(PhaseName.PREFLIGHT)
        if problems:
            raise PreflightError(problems)

    def _seed(self) -> None:
        assert self.tracker is not None
        self._phase_start(PhaseName.SEED)
        # A region drill's load takes the clients' path (the failover name), so a failover reaches it.
        self.load = self.load_factory(self.plan.load_url or self.session.api_url, self.plan, self.run_dir)
        for call in self.plan.setup:
            self.tracker.remediate(call, setup=True)
        self._phase_end(PhaseName.SEED)

    def _drive(self) -> None:
        assert self.load is not None and self.tracker is not None and self.detection is not None
        plan = self.plan
        self._phase_start(PhaseName.LOAD)
        self.load.start()  # signs in the account pool, then sends load
        load_start = self.clock()
        if REGION_ACTIONS & {call.name for call in plan.provider_calls()}:
            self.served = self.served_region_factory(plan.load_url or self.session.api_url, plan)
            self.served.start()
        # The judged baseline starts after the warm-up, here and in verify's final check alike.
        self._phase_start(PhaseName.BASELINE, load_start + WARMUP_S)
        inject_start = load_start + WARMUP_S + plan.baseline_s
        schedule = DrillSchedule(plan, inject_start)
        watches = [StopWatch(c) for c in plan.stop_conditions]
        recovery: RecoveryTracker | None = None
        baseline_checked = False
        while True:
            if self.lease is not None:
                self.lease.check()  # lost (taken over after it lapsed): another drill may act on the target
            samples = self.load.poll(timeout=0.25)
            now = self.clock()
            for sample in samples:
                self.journal.series.append(sample)
                self.progress.sample(sample, self.journal)
                if self.journal.fault_at is not None:
                    for watch in watches:
                        if reason := watch.observe(sample):
                            raise DrillAborted(reason)
                if self.detection.started and self.detection.observe(sample):
                    self._detected()
                if recovery is not None and self.journal.recovered_at is None:
                    if found := recovery.observe(sample):
                        self.journal.recovered_at = found.recovered_at
                        self.journal.recovery_s = found.recovery_s
                        self._phase_end(PhaseName.RECOVER, found.confirmed_at)
                        self._save()
            self.journal.flush_series(self.journal_path)  # each sample once, as it arrives
            if now >= inject_start and not baseline_checked:
                if not self._baseline_complete(load_start, inject_start):
                    continue  # the baseline's last seconds are still in flight
                self._check_baseline(load_start, inject_start)
                baseline_checked = True
                self._phase_start(PhaseName.INJECT)
            if baseline_checked:
                for _, fault in schedule.due_faults(now):
                    self.tracker.inject(fault.id, self._with_load_prefix(fault.call))
                    if recovery is None and self.journal.fault_at is not None:
                        recovery = RecoveryTracker(plan.slo, self.journal.fault_at, plan.sustained_s)
                        for earlier in self.journal.series:
                            recovery.observe(earlier)
                        # The alarm's periods reach back before the fault, as in the final check.
                        self.detection.start(self.journal.fault_at, self.journal.series, now)
                        self._phase_start(PhaseName.DETECT, self.journal.fault_at)
                        self._phase_start(PhaseName.RECOVER, self.journal.fault_at)
                if schedule.all_faults_injected():
                    self._phase_end(PhaseName.INJECT)
                if self.detection.poll(now):  # the target's own alarms, when it names some
                    self._detected()
                # `on-detection` steps wait for the alarm time (detected_at), not the first bad second.
                due = schedule.due_remediations(now, self.journal.fault_at, self.journal.detected_at)
                for index, step in due:
                    if self.journal.phase(PhaseName.REMEDIATE) is None:
                        self._phase_start(PhaseName.REMEDIATE)
                    if step.by_operator:
                        self._page(index, step)  # a person acts; the target is watched for it
                    else:
                        self.tracker.remediate(step.call)
                open_steps = [o for o in self.operators if not o.done]
                for operator in open_steps:
                    operator.poll()
                if (due or open_steps) and all(o.done for o in self.operators):
                    self._phase_end(PhaseName.REMEDIATE)
                if self._finished(schedule, now):
                    break
            if now - self._last_save >= JOURNAL_SAVE_EVERY_S:
                self._save()
        self.load.stop()
        self._phase_end(PhaseName.LOAD)
        for name in (PhaseName.DETECT, PhaseName.RECOVER):
            self._phase_end(name)
        self._save()

    def _with_load_prefix(self, call: ActionCall) -> ActionCall:
        """A fault that acts on the drill's own data (its params take `id_prefix`) gets the prefix of the ids
        this run's load created, so it never touches anyone else's items; the journal records it."""
        prefix = self.load.id_prefix() if self.load is not None else None
        if prefix and "id_prefix" in call.spec.params.model_fields and not call.params.get("id_prefix"):
            return call.model_copy(update={"params": {**call.params, "id_prefix": prefix}})
        return call

    def _detected(self) -> None:
        if self.journal.detected_at is not None:
            self._phase_end(PhaseName.DETECT, self.journal.detected_at)
        self._save()

    def _baseline_complete(self, load_start: float, inject_start: float) -> bool:
        last_t = int(inject_start) - 1
        waited = self.clock() - inject_start
        return any(s.t >= last_t for s in self.journal.series) or waited > 5.0

    def _check_baseline(self, load_start: float, inject_start: float) -> None:
        self._phase_end(PhaseName.BASELINE, inject_start)
        stats = window_stats(
            self.journal.series, self.plan.slo, int(load_start) + WARMUP_S, int(inject_start), name="baseline"
        )
        broken = stats.violations(self.plan.slo, availability=False)
        if broken:
            raise DrillAborted("the SLO did not hold before the fault (baseline): " + "; ".join(broken))

    def _page(self, index: int, step: PlannedRemediation) -> None:
        assert self.tracker is not None
        operator = OperatorStep(index, step, self.plan, self.journal, self.run_dir, self.tracker,
                                self.tracker.provider, self.pager, self.session.provider_runtime(), self.clock)
        self.operators.append(operator)
        operator.page()

    def _finished(self, schedule: DrillSchedule, now: float) -> bool:
        if now >= schedule.deadline():
            return True
        if not self.plan.faults:
            return False
        if not schedule.all_faults_injected() or self.journal.recovered_at is None:
            return False
        if self.detection is not None and self.detection.waiting(now):
            return False  # recovered before the alarm paged: it still may, and the drill judges it
        if any(not o.done for o in self.operators):
            return False  # an operator's step is still open (it ends by their action or the take-over)
        return not schedule.remediation_pending(self.journal.fault_at, self.journal.detected_at)

    def _verify(self) -> None:
        from verify.checks import evaluate, needs_ledger
        from verify.integrity import check_integrity
        from verify.readback import read_back

        assert self.load is not None
        self._phase_start(PhaseName.VERIFY)
        records = self.load.ledger_records()
        if records and needs_ledger(self.plan.checks):
            probe: dict[str, set[str]] = {}
            for record in records:
                probe.setdefault(record.user, set()).add(record.id)
            # The load's own sign-in (Cognito on an aws target; the API has no /auth/token there), and only
            # this run's ids: a reused account still holds the todos of earlier runs.
            observed = read_back(self.session.api_url, self.load.accounts(), probe,
                                 ca_bundle=drill_load_plan(self.plan).ca_bundle, tokens=self.load.tokens(),
                                 id_prefix=self.load.id_prefix())
            self.journal.ledger = check_integrity(records, observed, self.journal.fault_at)
        if self.detection is not None:
            self.detection.poll(self.clock(), force=True)  # the target's alarms as they ended up
        self.journal.checks = evaluate(
            self.journal, self.plan.slo, self.plan.detection, [c.value for c in self.plan.checks]
        )
        self._phase_end(PhaseName.VERIFY)
        failed = [c.name for c in self.journal.checks if c.failed]
        unjudged = [c for c in self.journal.checks if c.inconclusive]
        if failed:
            self._finish(RunStatus.FAILED, "check failed: " + ", ".join(failed))
        elif unjudged:
            self._finish(RunStatus.INCONCLUSIVE, "inconclusive: " + "; ".join(f"{c.name} ({c.detail})" for c in unjudged))
        else:
            self._finish(RunStatus.PASSED, "")

    def _finish(self, status: RunStatus, reason: str) -> None:
        if self.journal.status is RunStatus.RUNNING:
            self.journal.status = status
            self.journal.reason = reason
        self._save()

    def _run_teardown(self) -> None:
        """The scenario's closing runbook steps (e.g. fail back): the system is left as it was found."""
        assert self.tracker is not None
        for call in self.plan.teardown:
            try:
                self.tracker.remediate(call, setup=True)
            except Exception as exc:  # keep going: report it, the other steps still run
                note = f"teardown {call.name} failed: {exc}"
                self.journal.reason = f"{self.journal.reason}; {note}" if self.journal.reason else note
                if self.journal.status in (RunStatus.PASSED, RunStatus.RUNNING):
                    self.journal.status = RunStatus.ERROR

    def _teardown(self, provider: Provider | None) -> None:
        if self.load is not None:
            try:
                self.load.stop()
            except Exception as exc:
                log.error("stopping the load failed: %s", exc)
        if self.served is not None:
            self.journal.served_by = self.served.stop()
        if self.tracker is not None:
            self._phase_start(PhaseName.REVERT)
            left = self.tracker.revert_all()
            self._phase_end(PhaseName.REVERT)
            if left:
                names = ", ".join(f"{f.id} ({f.revert_error})" for f in left)
                self.journal.reason = (self.journal.reason + "; " if self.journal.reason else "") + (
                    f"could not revert: {names} — run `hanbit-drill cleanup`"
                )
                if self.journal.status in (RunStatus.PASSED, RunStatus.RUNNING):
                    self.journal.status = RunStatus.ERROR
            self._run_teardown()
        for operator in self.operators:
            try:
                operator.abandon()  # no page outlives its drill
            except OSError as exc:  # a page file left behind is stale, never a fault: `ack` ignores it
                log.error("withdrawing the page failed: %s", exc)
        if self.lease is not None:
            self.lease.release()  # after the last revert and teardown step
        if provider is not None:
            provider.close()
        self.session.close()
        self.journal.service_pid = None  # stopped (or never started by this run)
        if self.journal.status is RunStatus.RUNNING:
            self.journal.status = RunStatus.ERROR
        self.journal.ended_at = self.clock()
        self._save()
        self.progress.close()


def _served_region_sampler(url: str, plan: DrillPlan) -> ServedRegionSampler:
    return ServedRegionSampler(url, ca_bundle=drill_load_plan(plan).ca_bundle)
