"""A drill never leaves a fault behind: Ctrl-C reverts at once; after `kill -9`, `cleanup` does.

The drill runs against an already running bundled service (a `url` + `data_dir` target), so the
test can look at that service's control plane afterwards like an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from service.launcher import ServiceProcess
from verify.journal import Journal, RunStatus

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]

SCENARIOS = """
version: 1
defaults:
  load: {{model: open, rps: 50, workers: 1, accounts: 5}}
profiles:
  quick: {{time_scale: 1.0}}
targets:
  running: {{kind: bundled, url: "{url}", data_dir: "{data_dir}", regions: 2, workers: 1}}
scenarios:
  stuck-bad-deploy:
    description: a bad deploy nobody rolls back, so the fault is still in effect when the harness dies
    rto: 60s
    baseline: 3s
    sustained: 3s
    max_duration: 90s
    faults:
      - {{id: bad-deploy, action: lambda.deploy-bad-version}}
      - {{id: slow, action: lambda.add-latency, params: {{latency_ms: 50, percentage: 10}}}}
    remediation:
      - {{action: lambda.rollback, when: never}}
    checks: [rto]
    expect: fail
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("service")
    process = ServiceProcess(data_dir=data_dir, port=0, workers=1, regions=2)
    url = process.start()
    yield url, data_dir
    process.stop()


def control(data_dir: Path) -> httpx.Client:
    ready = json.loads((data_dir / "ready.json").read_text())
    token = (data_dir / "admin.token").read_text().strip()
    return httpx.Client(base_url=ready["control_url"], headers={"authorization": f"Bearer {token}"}, timeout=10)


def start_drill(tmp_path: Path, url: str, data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    scenario_file = tmp_path / "scenarios.yaml"
    scenario_file.write_text(SCENARIOS.format(url=url, data_dir=data_dir))
    report_dir = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "run", "stuck-bad-deploy", "--file", str(scenario_file),
         "--profile", "quick", "--target", "running", "--report-dir", str(report_dir), "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc, report_dir


def wait_for_injection(report_dir: Path, proc: subprocess.Popen[str], timeout_s: float = 90) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in report_dir.glob("*/*/journal.json"):
            try:
                journal = Journal.load(path)
            except ValueError:
                continue  # being replaced right now
            if len(journal.faults) == 2 and all(f.injected_at for f in journal.faults):
                return path
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.2)
    raise AssertionError("the drill never injected its faults")


def assert_no_fault_left(data_dir: Path, original_version: str) -> None:
    with control(data_dir) as client:
        versions = client.get("/control/function/versions").json()
        assert str(versions["aliases"]["LIVE"]) == original_version
        assert client.get("/control/state").json()["function"]["faults"] in ({}, None)


def live_version(data_dir: Path) -> str:
    with control(data_dir) as client:
        return str(client.get("/control/function/versions").json()["aliases"]["LIVE"])


def test_kill_9_leaves_the_fault_and_cleanup_reverts_it(service, tmp_path: Path) -> None:
    url, data_dir = service
    original = live_version(data_dir)
    proc, report_dir = start_drill(tmp_path, url, data_dir)
    journal_path = wait_for_injection(report_dir, proc)
    assert live_version(data_dir) != original  # the bad version really serves LIVE
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert live_version(data_dir) != original  # nobody reverted it: the harness is dead

    cleanup = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "cleanup", "--report-dir", str(report_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert "reverted bad-deploy" in cleanup.stdout
    assert_no_fault_left(data_dir, original)
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    journal = Journal.load(journal_path)
    assert journal.status is RunStatus.ABORTED and journal.open_faults() == []
    # The dead run's load generator went with it: no Locust process of that run is left.
    time.sleep(2)
    run_dir = str(journal_path.parent)
    left = [p for p in psutil.process_iter(["cmdline"]) if run_dir in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_ctrl_c_reverts_before_exiting(service, tmp_path: Path) -> None:
    url, data_dir = service
    original = live_version(data_dir)
    proc, report_dir = start_drill(tmp_path, url, data_dir)
    journal_path = wait_for_injection(report_dir, proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert_no_fault_left(data_dir, original)
    journal = Journal.load(journal_path)
    assert journal.status is RunStatus.ABORTED
    assert all(f.reverted_at for f in journal.faults)


def test_sigterm_reverts_before_exiting(service, tmp_path: Path) -> None:
    url, data_dir = service
    original = live_version(data_dir)
    proc, report_dir = start_drill(tmp_path, url, data_dir)
    wait_for_injection(report_dir, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert_no_fault_left(data_dir, original)


def test_cleanup_stops_the_service_a_killed_run_started(tmp_path: Path) -> None:
    """Here the harness starts the bundled service itself; after kill -9 only cleanup can stop it."""
    scenario_file = tmp_path / "scenarios.yaml"
    text = SCENARIOS.format(url="", data_dir="").replace(
        'running: {kind: bundled, url: "", data_dir: "", regions: 2, workers: 1}',
        "running: {kind: bundled, regions: 2, workers: 1}",
    )
    scenario_file.write_text(text)
    report_dir = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "run", "stuck-bad-deploy", "--file", str(scenario_file),
         "--profile", "quick", "--target", "running", "--report-dir", str(report_dir), "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    journal_path = wait_for_injection(report_dir, proc)
    service_pid = Journal.load(journal_path).service_pid
    assert service_pid is not None and psutil.pid_exists(service_pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert psutil.pid_exists(service_pid)
    cleanup = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "cleanup", "--report-dir", str(report_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert "stopped the bundled service" in cleanup.stdout
    deadline = time.monotonic() + 15
    while psutil.pid_exists(service_pid) and psutil.Process(service_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the service is still running"
        time.sleep(0.2)
