"""One drill at a time per target: the engine takes, renews and releases the target's lease."""

from __future__ import annotations

from pathlib import Path

from engine_sim import (  # the simulated system (tests/scenarios/engine_sim.py)
    FakeLoad,
    FakeProvider,
    FakeSession,
    SimClock,
    SimSystem,
    plan_for,
)

from scenarios.engine import DrillEngine
from verify.journal import RunStatus

# ---- one drill at a time per target (the lease) ---------------------------------------------------


def engine_on(tmp_path: Path, name: str, target_dir: Path, system: SimSystem | None = None, **changes) -> DrillEngine:
    clock, system = SimClock(), system or SimSystem()
    session = FakeSession()
    session.lease_dir = target_dir
    engine = DrillEngine(plan_for(**changes), tmp_path / "suite" / name, session=session,
                         load_factory=lambda url, plan, run_dir: FakeLoad(system, clock),
                         provider_factory=lambda target, **kw: FakeProvider(system), clock=clock)
    engine.progress.enabled = False
    return engine


def test_a_second_drill_on_the_target_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    from chaos.lease import TargetLease
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    holder = TargetLease(LockFileLeaseStore(target_dir), "local", "20250615-120000/lambda-failure")
    holder.acquire()  # another harness's drill, live
    system = SimSystem()
    journal = engine_on(tmp_path, "second", target_dir, system).run()
    assert journal.status is RunStatus.ERROR
    assert "target 'local' is held by" in journal.reason and "run 20250615-120000/lambda-failure) since" in journal.reason
    assert system.injections == 0 and not journal.phases  # refused before the preflight
    assert holder.holder() == holder.record  # its lease untouched


def test_the_lease_is_held_through_the_drill_and_released_after_the_last_revert(tmp_path: Path) -> None:
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    store = LockFileLeaseStore(target_dir)
    held_when: list[bool] = []

    class WatchingProvider(FakeProvider):
        def inject(self, call):
            held_when.append(store.read() is not None and store.read().run_id == "suite/first")
            return super().inject(call)

        def revert(self, call, undo):
            held_when.append(store.read() is not None)
            super().revert(call, undo)

    system = SimSystem()
    engine = engine_on(tmp_path, "first", target_dir, system)
    engine.provider_factory = lambda target, **kw: WatchingProvider(system)
    journal = engine.run()
    assert journal.status is RunStatus.PASSED, journal.reason
    assert held_when == [True, True]
    assert store.read() is None  # released: the next drill may run
    assert engine_on(tmp_path, "next", target_dir).run().status is RunStatus.PASSED


def test_a_lapsed_lease_is_taken_over_and_reported(tmp_path: Path, capsys) -> None:
    from chaos.lease import LeaseRecord
    from chaos.local.lease_store import LockFileLeaseStore

    target_dir = tmp_path / "service-data"
    LockFileLeaseStore(target_dir).create(LeaseRecord(
        owner="ci@runner-7", host="runner-7", pid=1, run_id="killed", acquired_at=1.0, expires_at=2.0, token="t"))
    journal = engine_on(tmp_path, "after", target_dir).run()
    assert journal.status is RunStatus.PASSED, journal.reason
    err = capsys.readouterr().err
    assert "took over the lease on 'local' of ci@runner-7 (pid 1, run killed)" in err and "expired" in err


def test_a_lost_lease_stops_the_drill_and_reverts_its_fault(tmp_path: Path) -> None:
    from chaos.lease import LeaseLostError

    system = SimSystem()
    engine = engine_on(tmp_path, "lost", tmp_path / "service-data", system)

    class LosingLoad(FakeLoad):
        def poll(self, timeout):
            if system.injections and engine.lease is not None:
                engine.lease.lost = "target 'local': this run's lease is gone; it is now held by bob"
            return super().poll(timeout)

    engine.load_factory = lambda url, plan, run_dir: LosingLoad(system, engine.clock)
    journal = engine.run()
    assert journal.status is RunStatus.ERROR and "now held by bob" in journal.reason
    assert isinstance(engine.error, LeaseLostError)
    assert system.injections == 1 and system.reverts == 1 and not system.broken
