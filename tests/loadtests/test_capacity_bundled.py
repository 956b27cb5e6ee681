"""Tiny capacity searches against the real bundled service (20, 40, 60 RPS for 3 s each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.health import BURN_ENV
from loadtests.plan import LoadPlan
from scenarios.capacity import CapacitySearch, capacity_config
from verify.capacity import BreakReason, SearchMode, StepResult
from verify.slo import Slo

BASE = LoadPlan(rps=1, accounts=4, workers=1)


def test_linear_search_holds_each_step_and_judges_it(bundled_service: str, tmp_path: Path) -> None:
    seen: list[StepResult] = []
    config = capacity_config(60, 20, 3, settle_s=1, load=BASE)
    search = CapacitySearch(bundled_service, config, tmp_path, target="unit", on_step=seen.append)
    result = search.run()

    # A tiny rate on a loopback service meets the manual's SLO at every step: the knee is max-rps.
    assert [s.rate_rps for s in result.steps] == [20, 40, 60] and seen == result.steps
    assert all(s.met for s in result.steps), [s.reasons for s in result.steps]
    assert result.knee_rps == 60 and result.broke_at_rps is None and result.broke_because is None
    for step in result.steps:
        # Judged over the 2 whole seconds after the 1 s settle, at the step's own rate.
        assert step.seconds == 2 and step.requests == 2 * step.rate_rps
        assert 0 < step.p50_ms <= step.p90_ms <= step.p95_ms
    assert result.steps[0].end_t <= result.steps[1].start_t
    assert {s.target_rps for s in search.series} >= {20, 40, 60}


def test_a_saturated_generator_is_reported_as_such(bundled_service: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The generator's own test hook burns 90 ms of every 100 ms in its event loop, so it is saturated
    # for real; a step that then breaks (here a strict SLO) must blame the generator, not the service.
    monkeypatch.setenv(BURN_ENV, "90")
    strict = Slo(p90_ms=0.001, p95_ms=0.001)
    config = capacity_config(40, 20, 3, settle_s=1, load=BASE, mode=SearchMode.BISECT, slo=strict)
    result = CapacitySearch(bundled_service, config, tmp_path).run()
    assert result.broke_at_rps == 20 and len(result.steps) == 1 and result.knee_rps is None
    assert result.broke_because is BreakReason.GENERATOR_SATURATION, result.steps[0]
    assert result.steps[0].saturated_seconds >= 1
