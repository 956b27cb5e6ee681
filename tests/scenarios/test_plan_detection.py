"""`plan` prints how soon and how late the alarm pages, and warns when the RTO cannot survive it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.cli import main

SHIPPED = Path(__file__).parents[2] / "scenarios.yaml"


def detection_section(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("detection ("))
    end = lines.index("", start)
    return lines[start:end]


def test_the_shipped_lambda_failure_has_a_rollback_alarm_and_the_manuals_would_miss_the_rto(
        capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SHIPPED.parent)
    assert main(["plan", "lambda-failure", "--profile", "full"]) == 0
    section = detection_section(capsys.readouterr().out)
    assert section[0].startswith("detection (cloudwatch model): error rate > 5%, 1 of 1 datapoint(s) of 1m, "
                                 "missing data breaching")
    assert section[1] == "  after a total outage: the alarm pages +1m4s to +2m3s after the fault"
    assert section[2] == "  after a 6% error rate: the alarm pages +1m51s to +2m50s after the fault"
    assert not any(line.startswith("  warning:") for line in section)  # its own alarm meets the 5-minute RTO
    assert section[3].startswith("  the manual's alarm (error rate > 5% or p90 > 1,000 ms, 1 of 1 datapoint(s) of 5m")
    assert section[3].endswith("would page +1m16s to +6m15s after a total outage: the alarm may page only at "
                               "+6m15s; with the runbook's 0s delay its first step starts at +6m15s, past the RTO (5m)")


def test_the_smoke_profile_scales_the_worst_case_too(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SHIPPED.parent)
    assert main(["plan", "region-outage"]) == 0
    section = detection_section(capsys.readouterr().out)
    # The manual's alarm at 0.05: 15 s periods, 3 s late, every 3 s; the failover waits for it; RTO 6 min.
    assert section[1] == "  after a total outage: the alarm pages +4s to +18s after the fault"
    assert not any("warning" in line or "manual's alarm" in line for line in section)


def test_a_drill_that_does_not_wait_for_the_alarm_has_no_detection_section(capsys, monkeypatch) -> None:
    monkeypatch.chdir(SHIPPED.parent)
    assert main(["plan", "table-corruption"]) == 0  # restored 2 min after the fault, no detection check
    assert "detection (" not in capsys.readouterr().out
