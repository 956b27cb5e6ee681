"""Game day on the bundled service: the harness pages, a person (another process) acknowledges and acts.

The simulated operator does what the page says: `hanbit-drill ack`, then the runbook text from the page,
run as typed in a shell. The harness must see the action on the target, time it, and judge the RTO on it;
without an operator it takes over at the deadline, fails the RTO check and leaves the service healthy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from verify.journal import Journal

pytestmark = pytest.mark.e2e

SCENARIOS = """
version: 1
defaults:
  load: {{model: open, rps: 50, workers: 1, accounts: 5}}
profiles:
  gd: {{time_scale: 1.0, remediation_by: operator}}
scenarios:
  gd-rollback:
    rto: 40s
    rpo: 0s
    baseline: 3s
    sustained: 3s
    max_duration: 60s
    faults:
      - {{id: bad-deploy, action: lambda.deploy-bad-version}}
    remediation:
      - action: lambda.rollback
        when: after-fault
        delay: 1s
        operator_timeout: {timeout}
        runbook:
          bundled: hanbit-drill bundled update-alias --name {{alias}} --function-version {{previous_version}} --data-dir {{data_dir}}
          aws: aws lambda update-alias --function-name {{function}} --name {{alias}} --function-version {{previous_version}}
    checks: [rto]
"""


class Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    Webhook.received = []
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/page", Webhook.received
    server.shutdown()


def hanbit(*args: str, cwd: Path, env: dict | None = None, timeout: float = 240) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scenarios.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def operator(report_dir: Path, *, after_s: float, command: str | None, ack: bool = True) -> threading.Thread:
    """Waits for the page, acknowledges after `after_s`, then runs `command` (default: the page's runbook)."""

    def act() -> None:
        deadline = time.monotonic() + 120
        while not list(report_dir.glob("**/page-*.json")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        page = json.loads(next(report_dir.glob("**/page-*.json")).read_text())
        time.sleep(after_s)
        if ack:
            subprocess.run([sys.executable, "-m", "scenarios.cli", "ack", "--report-dir", str(report_dir)],
                           check=True, capture_output=True)
        time.sleep(1.0)
        shell = command or page["runbook"].replace("hanbit-drill ", f"{sys.executable} -m scenarios.cli ", 1)
        subprocess.run(["bash", "-c", shell], check=True, capture_output=True)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def drill(tmp_path: Path, timeout: str, env: dict | None = None) -> tuple[subprocess.Popen, Path]:
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS.format(timeout=timeout))
    report_dir = tmp_path / "runs"
    proc = hanbit("run", "gd-rollback", "-p", "gd", "--report-dir", str(report_dir), "-q", cwd=tmp_path, env=env)
    return proc, report_dir


def journal_of(report_dir: Path) -> Journal:
    return Journal.load(next(report_dir.glob("2*/gd-rollback/journal.json")))


def test_an_operator_acknowledges_and_rolls_back_by_the_runbook(tmp_path: Path, webhook, monkeypatch) -> None:
    url, received = webhook
    import os

    proc, report_dir = drill(tmp_path, "30s", env={**os.environ, "HANBIT_DRILL_PAGE_URL": url})
    person = operator(report_dir, after_s=2.0, command=None)
    out, _ = proc.communicate(timeout=240)
    person.join(10)
    assert proc.returncode == 0, out[-3000:]
    step = journal_of(report_dir).remediations[0]
    assert step.by == "operator" and step.taken_over_at is None
    assert step.runbook.startswith("hanbit-drill bundled update-alias --name LIVE --function-version 1 --data-dir ")
    assert step.acknowledged_at - step.paged_at == pytest.approx(2.0, abs=1.0)
    assert step.action_matches_runbook and step.action_observed_at - step.paged_at == pytest.approx(3.0, abs=1.5)
    assert not list(report_dir.glob("**/page-*.json"))  # the page is withdrawn once the step is over
    report = next(report_dir.glob("2*/gd-rollback/report.html")).read_text()
    assert "People in the loop" in report and "acknowledged by" in report and "paged: lambda.rollback" in report
    assert "People in the loop" in out  # the console report
    (row,) = [json.loads(line) for line in (report_dir / "history" / "history.jsonl").read_text().splitlines()]
    assert row["acknowledge_s"] == pytest.approx(2.0, abs=1.0) and row["taken_over"] is False
    (payload,) = received
    assert payload["scenario"] == "gd-rollback" and payload["run_dir"].endswith("gd-rollback")
    assert "update-alias --name LIVE --function-version 1" in payload["text"] and payload["rto_deadline"]


def test_a_wrong_action_is_reported_and_the_harness_takes_over(tmp_path: Path) -> None:
    proc, report_dir = drill(tmp_path, "8s")
    data_dir = None

    def wrong() -> None:  # LIVE to the bad version again: an update-alias, but not the runbook's version
        nonlocal data_dir
        deadline = time.monotonic() + 120
        while not list(report_dir.glob("**/page-*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        page = json.loads(next(report_dir.glob("**/page-*.json")).read_text())
        data_dir = page["runbook"].rsplit("--data-dir ", 1)[1]
        subprocess.run([sys.executable, "-m", "scenarios.cli", "bundled", "update-alias", "--name", "LIVE",
                        "--function-version", "2", "--data-dir", data_dir], check=True, capture_output=True)

    person = threading.Thread(target=wrong, daemon=True)
    person.start()
    out, _ = proc.communicate(timeout=240)
    person.join(10)
    assert proc.returncode == 1, out[-3000:]
    journal = journal_of(report_dir)
    step = journal.remediations[0]
    assert step.action_matches_runbook is False
    assert step.action_detail == "LIVE moved to version 2, but the runbook's previous good version is 1"
    assert step.taken_over_at is not None and step.error is None
    rto = next(c for c in journal.checks if c.name == "rto")
    assert not rto.passed and rto.detail.startswith("no operator action within 8 s of the page")


def test_nobody_acts_the_harness_restores_the_service_and_the_rto_check_fails(tmp_path: Path) -> None:
    proc, report_dir = drill(tmp_path, "5s")
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 1, out[-3000:]
    journal = journal_of(report_dir)
    step = journal.remediations[0]
    assert step.acknowledged_at is None and step.action_observed_at is None and step.taken_over_at is not None
    assert step.detail["version"] == "1"  # the harness rolled LIVE back itself
    assert journal.recovered_at is not None  # the service is healthy again
    rto = next(c for c in journal.checks if c.name == "rto")
    assert not rto.passed and "no operator action within 5 s" in rto.detail
