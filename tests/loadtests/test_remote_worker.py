"""A worker joined with `hanbit-drill worker --master` (as from another machine) carries its share of
the load and, having no shared run directory, forwards its write ledger to the master."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests.plan import LoadPlan
from loadtests.runner import LoadRunner, free_port
from loadtests.session import RUN_DIR_ENV

if TYPE_CHECKING:
    from conftest import FakeService


def test_remote_worker_joins_and_forwards_its_ledger(fake_service: FakeService, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV}
    remote = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "worker", "--master", "127.0.0.1", "--master-port", str(port)],
        env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    plan = LoadPlan(model="open", rps=40, duration_s=3, accounts=2, workers=1)
    runner = LoadRunner(fake_service.url, plan, tmp_path / "run", remote_workers=1, master_port=port)
    try:
        runner.start()
        samples = list(runner.samples())
        runner.wait(30)
    finally:
        runner.stop()
        remote.wait(30)
    assert [s.requests for s in samples] == [40, 40, 40]  # two workers, one interleaved schedule
    local = list((tmp_path / "run").glob("ledger-remote-*.jsonl"))
    assert len(local) == 1 and local[0].read_text().strip()
    assert len(list((tmp_path / "run").glob("ledger-*.jsonl"))) == 2
    assert remote.returncode == 0
