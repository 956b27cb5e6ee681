"""`hanbit-drill capacity` and `hanbit-drill quarterly` end to end against a running bundled service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from scenarios.cli import main
from service.launcher import ServiceProcess
from verify.capacity import BreakReason
from verify.capacity_history import CapacityHistory, CapacityRow

FILE = """\
version: 1
defaults:
  slo: {{p90_ms: {p90}, p95_ms: {p95}, error_rate: 0.01}}
  load: {{model: open, rps: 20, workers: 1, accounts: 4}}
profiles:
  quarterly:
    load: {{model: closed, rps: 1000, users: 10000, think_time_s: 10s, duration_s: 1h}}
    scenarios: []
targets:
  svc: {{kind: bundled, url: "{url}", data_dir: "{data_dir}"}}
scenarios:
  noop:
    checks: [slo-baseline]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(tmp_path_factory.mktemp("svc") / "data", port=0, workers=1, password_cost_log2=10)
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def scenario_file(tmp_path: Path, svc: ServiceProcess, p90: float = 200, p95: float = 500) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(FILE.format(url=svc.url, data_dir=svc.settings.data_dir, p90=p90, p95=p95))
    return path


def test_capacity_breaks_stops_and_flags_the_regression(service: ServiceProcess, tmp_path: Path, capsys) -> None:
    # The previous quarter held 1,000 RPS on this target; this run's SLO cannot be met by any real
    # request (1 microsecond), so it breaks at its first step and must be flagged as a regression.
    history = tmp_path / "history" / "capacity.jsonl"
    previous = CapacityRow(run_id="last-quarter", date="2026-08-01T00:00:00Z", target="svc", mode="linear",
                           step_rps=100, max_rps=2000, hold_s=60, slo_p90_ms=0.001, slo_p95_ms=0.001,
                           slo_error_rate=0.01, knee_rps=1000, broke_at_rps=1100, broke_because=BreakReason.LATENCY)
    history.parent.mkdir()
    history.write_text(previous.model_dump_json() + "\n")
    out = tmp_path / "capacity.json"
    code = main(["capacity", "-f", str(scenario_file(tmp_path, service, 0.001, 0.001)), "-t", "svc",
                 "--max-rps", "60", "--step", "20", "--hold", "3", "--settle", "1", "--json", str(out),
                 "--history", str(history), "--run-dir", str(tmp_path / "runs"), "--fail-on-regression"])
    assert code == 1
    result = json.loads(out.read_text())
    assert result["knee_rps"] is None and result["broke_at_rps"] == 20 and result["broke_because"] == "latency"
    assert [s["rate_rps"] for s in result["steps"]] == [20]  # stopped at the first broken step
    assert result["comparison"]["regressions"][0]["measure"] == "knee"
    rows = CapacityHistory(history).rows()
    assert [r.run_id for r in rows] == ["last-quarter", result["run_id"]]
    text = capsys.readouterr()
    assert "REGRESSION: knee none vs 1,000 RPS in run last-quarter" in text.out
    assert "capacity regressed on svc" in text.err
    (report,) = (tmp_path / "runs" / "capacity").glob("*/report.html")
    assert "chart-capacity-latency" in report.read_text()


def test_quarterly_runs_capacity_soak_and_seed_targets_as_one_report(service: ServiceProcess, tmp_path: Path,
                                                                      capsys) -> None:
    html, out = tmp_path / "quarterly.html", tmp_path / "quarterly.json"
    # Smoke scale: 20 and 40 RPS steps of 3 s; a soak of 20 users for 7.2 s (1 h x 0.002).
    code = main(["quarterly", "-f", str(scenario_file(tmp_path, service)), "-t", "svc", "--time-scale", "0.002",
                 "--max-rps", "40", "--step", "20", "--hold", "3", "--users", "20", "--think-time", "1",
                 "--history", str(tmp_path / "capacity.jsonl"), "--run-dir", str(tmp_path / "runs"),
                 "--html", str(html), "--json", str(out)])
    assert code == 1  # 40 RPS and 20 users miss the manual's 1,000 RPS and 10,000 users
    report = json.loads(out.read_text())
    assert report["capacity"]["knee_rps"] == 40 and report["capacity"]["broke_at_rps"] is None
    soak = report["soak"]
    assert soak["model"] == "closed" and soak["users"] == 20 and soak["duration_s"] == pytest.approx(7.2)
    assert soak["peak_users"] == 20 and soak["overall"]["requests"] > 0
    # The bundled service named by the target's data_dir: its supervisor and worker, by pid.
    assert soak["memory"] is not None and soak["memory"]["points"]
    assert soak["memory"]["points"][0]["processes"] == 1 + len(psutil.Process(service.pid).children(recursive=True))
    seed = {c["name"]: c for c in report["seed"]}
    assert seed["throughput within the SLO"]["measured"] == "40 RPS" and not seed["throughput within the SLO"]["passed"]
    assert seed["concurrent users"]["measured"] == "20" and seed["concurrent users"]["target"] == ">= 10,000"
    assert seed["p90 under sustained load"]["passed"]
    page = html.read_text()
    assert "chart-capacity-latency" in page and "chart-soak-rss" in page and "Seed targets" in page
    assert "seed target missed: concurrent users" in capsys.readouterr().out
