"""Short runs against the real bundled service: the per-second stream and the write ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx

from loadtests.plan import LoadPlan
from loadtests.records import LedgerRecord, SecondSample, WriteOp, WriteOutcome, decode_histogram
from loadtests.runner import LoadRunner, free_port
from loadtests.session import RUN_DIR_ENV


def run(url: str, plan: LoadPlan, run_dir: Path) -> tuple[LoadRunner, list[SecondSample]]:
    runner = LoadRunner(url, plan, run_dir)
    try:
        runner.start()
        samples = list(runner.samples())
        runner.wait(30)
    finally:
        runner.stop()
    return runner, samples


def final_state(records: list[LedgerRecord]) -> dict[tuple[str, str], dict[str, object]]:
    """What the acknowledged writes promise is stored, per (user, id)."""
    state: dict[tuple[str, str], dict[str, object]] = {}
    for r in sorted(records, key=lambda r: r.completed_at):
        if r.outcome is not WriteOutcome.ACKNOWLEDGED:
            continue
        key = (r.user, r.id)
        if r.op is WriteOp.CREATE:
            state[key] = {"title": r.title, "done": False}
        elif r.op is WriteOp.UPDATE and key in state:
            if r.title is not None:
                state[key]["title"] = r.title
            if r.done is not None:
                state[key]["done"] = r.done
        elif r.op is WriteOp.DELETE:
            state.pop(key, None)
    return state


def test_open_model_stream_and_ledger(bundled_service: str, tmp_path: Path) -> None:
    plan = LoadPlan(model="open", rps=50, duration_s=4, accounts=4, workers=1)
    runner, samples = run(bundled_service, plan, tmp_path)

    # One sample per second of the run, in order, filed by intended second: the open model's even
    # schedule puts exactly 50 requests in each.
    assert runner.start_epoch is not None
    assert [s.t for s in samples] == [int(runner.start_epoch) + i for i in range(4)]
    for s in samples:
        assert s.requests == 50 and s.target_rps == 50
        assert s.failures == {}, s.failures
        assert decode_histogram(s.histogram).get_total_count() == s.requests
        assert 0 < s.p50_ms <= s.p90_ms <= s.p95_ms <= s.p99_ms <= s.max_ms
        assert s.users == 0 and s.generator.cpu_percent > 0

    summary = runner.summary()
    assert summary.requests == 200 and summary.achieved_rps == 50 and summary.error_rate == 0

    records = runner.ledger_records()
    assert records and {r.op for r in records} <= {WriteOp.CREATE, WriteOp.UPDATE, WriteOp.DELETE}
    assert all(r.outcome is WriteOutcome.ACKNOWLEDGED for r in records)
    assert all(runner.start_epoch <= r.sent_at < runner.start_epoch + 4 <= r.completed_at + 4 for r in records)
    creates = [r for r in records if r.op is WriteOp.CREATE]
    assert len({r.id for r in creates}) == len(creates)
    assert sum(s.todos_created for s in samples) == len(creates)
    completes = [r for r in records if r.op is WriteOp.UPDATE and r.done]
    assert sum(s.todos_completed for s in samples) == len(completes)

    # Read every promised todo back as its owner: the ledger describes what the service holds.
    expected = final_state(records)
    by_user: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    for (user, todo_id), fields in expected.items():
        by_user[user][todo_id] = fields
    passwords = {a.username: a.password for a in runner.accounts()}
    assert set(by_user) <= set(passwords)
    with httpx.Client(base_url=bundled_service, timeout=10) as client:
        for user, todos in by_user.items():
            token = client.post("/auth/token", json={"username": user, "password": passwords[user]}).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            for todo_id, fields in todos.items():
                got = client.get(f"/todos/{todo_id}", headers=auth)
                assert got.status_code == 200, (todo_id, got.text)
                assert {k: got.json()[k] for k in ("title", "done")} == fields


def test_closed_model_with_a_remote_worker(bundled_service: str, tmp_path: Path) -> None:
    """One local worker and one joined with `hanbit-drill worker --master` (as from another machine):
    the users are split between them and merged back per second; the remote worker, having no shared
    run directory, forwards its write ledger to the master."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV}
    remote = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "worker", "--master", "127.0.0.1", "--master-port", str(port)],
        env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    plan = LoadPlan(model="closed", users=30, think_time_s=0.5, duration_s=4, accounts=3, workers=1)
    runner = LoadRunner(bundled_service, plan, tmp_path / "run", remote_workers=1, master_port=port)
    try:
        runner.start()
        samples = list(runner.samples())
        runner.wait(30)
    finally:
        runner.stop()
        remote.wait(30)
    assert remote.returncode == 0  # the master told it to quit

    assert len(samples) == 4
    assert [(s.users, s.target_rps) for s in samples] == [(30, 60)] * 4  # 15 + 15, merged
    assert [s.failures for s in samples] == [{}] * 4
    # Each user sends every 0.5 s on its own random phase: 240 requests, give or take the users
    # whose phase falls just outside the 4 s (never a second request in flight, so never more).
    assert 200 <= sum(s.requests for s in samples) <= 240
    assert runner.summary().users == 30
    ledgers = sorted(p.name for p in (tmp_path / "run").glob("ledger-*.jsonl"))
    assert len(ledgers) == 2 and sum(name.startswith("ledger-remote-") for name in ledgers) == 1
    records = runner.ledger_records()
    assert {r.user for r in records} <= {a.username for a in runner.accounts()}
