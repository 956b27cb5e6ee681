"""`hanbit-drill load` end to end, and its refusals of bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from loadtests.health import BURN_ENV
from scenarios.cli import main

if TYPE_CHECKING:
    from conftest import FakeService

SUMMARY_KEYS = {
    "achieved_rps", "target_rps", "users", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
    "error_rate", "requests", "generator_saturated",
}


def test_load_json_summary_reports_a_saturated_generator(fake_service: FakeService, tmp_path: Path) -> None:
    """The generator's event loop is made to burn CPU for real (90 ms of every 100): the results must
    say the generator, not the target, was the bottleneck."""
    out = tmp_path / "summary.json"
    env = {**os.environ, BURN_ENV: "90"}
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "load", "--rps", "20", "--duration", "3s",
         "--target", fake_service.url, "--accounts", "2", "--json", str(out), "--run-dir", str(tmp_path / "run")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["requests"] == 60 and summary["target_rps"] == 20 and summary["users"] is None
    assert summary["generator_saturated"] is True
    assert summary["saturated_seconds"] >= 2
    assert "GENERATOR SATURATED" in proc.stderr
    assert "load summary" in proc.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["load", "--duration", "10s"], "give --rps"),
        (["load", "--rps", "-5", "--target", "http://127.0.0.1:9"], "rps"),
        (["load", "--users", "10", "--duration", "soon", "--target", "http://127.0.0.1:9"], "--duration"),
        (["load", "--rps", "10", "--target", "ftp://x"], "http://"),
        (["worker", "--master", "h", "--processes", "0"], "--processes"),
    ],
)
def test_bad_arguments_are_invalid_input(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unreachable_target_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from loadtests.runner import free_port

    code = main(["load", "--rps", "5", "--duration", "1s", "--target", f"http://127.0.0.1:{free_port()}",
                 "--run-dir", str(tmp_path)])
    assert code == 3
    assert "cannot reach" in capsys.readouterr().err
