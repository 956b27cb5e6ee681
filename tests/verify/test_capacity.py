"""The knee logic on synthetic series: judging a step, finding the knee, bisection on a known system."""

from __future__ import annotations

import pytest

from common.errors import InvalidInputError
from loadtests.records import GeneratorHealth, SecondSample
from scenarios.capacity import CapacityConfig, bisect_search, capacity_config
from verify.capacity import BreakReason, SearchMode, StepResult, judge_step, knee_of
from verify.slo import Slo
from verify.synthetic import build_second

SLO = Slo()  # p90 < 200 ms, p95 < 500 ms, errors < 1 %


def step_series(t0: int, rate: int, seconds: int, *, low: float = 5, high: float = 50, failed: int = 0,
                saturated: bool = False) -> list[SecondSample]:
    out = []
    for i in range(seconds):
        s = build_second(t0 + i, rate, failed, low, high)
        if saturated:
            s = s.model_copy(update={"generator": GeneratorHealth(cpu_percent=99, loop_lag_ms=80, saturated=True)})
        out.append(s)
    return out


def test_a_healthy_step_meets_the_slo() -> None:
    step = judge_step(step_series(1000, 40, 3), 40, 1000, 1003, SLO)
    assert step.met and step.broke_because is None and step.reasons == []
    assert step.requests == 120 and step.achieved_rps == 40 and step.seconds == 3
    assert 5 < step.p90_ms < 50


def test_latency_breaks_a_step_judged_from_the_merged_histogram() -> None:
    # Two fast seconds and one slow one: the merged p90 is in the slow second's range (> 200 ms).
    series = step_series(0, 100, 2) + step_series(2, 100, 1, low=600, high=900)
    step = judge_step(series, 100, 0, 3, SLO)
    assert not step.met and step.broke_because is BreakReason.LATENCY
    assert any(r.startswith("p90") for r in step.reasons)


def test_errors_take_precedence_over_latency() -> None:
    series = step_series(0, 100, 3, low=300, high=900, failed=5)
    step = judge_step(series, 100, 0, 3, SLO)
    assert step.broke_because is BreakReason.ERRORS
    assert any("error rate 5.00%" in r for r in step.reasons) and any(r.startswith("p90") for r in step.reasons)


def test_a_broken_step_with_a_saturated_generator_is_the_generators_limit() -> None:
    series = step_series(0, 100, 3, low=300, high=900, saturated=True)
    step = judge_step(series, 100, 0, 3, SLO)
    assert step.broke_because is BreakReason.GENERATOR_SATURATION
    assert step.saturated_seconds == 3 and "saturated" in step.reasons[0]
    # The same slow step without saturation is the target's latency.
    assert judge_step(step_series(0, 100, 3, low=300, high=900), 100, 0, 3, SLO).broke_because is BreakReason.LATENCY


def test_under_delivery_and_missing_seconds_break_a_step() -> None:
    short = judge_step(step_series(0, 50, 3), 100, 0, 3, SLO)  # fast, but half the rate
    assert not short.met and "delivered 50 of 100 RPS" in short.reasons
    empty = judge_step([], 100, 0, 3, SLO)
    assert not empty.met and empty.reasons == ["no traffic"]


def _step(rate: float, met: bool) -> StepResult:
    return StepResult(rate_rps=rate, start_t=0, end_t=1, seconds=1, requests=1, achieved_rps=rate, p50_ms=1,
                      p90_ms=1, p95_ms=1, p99_ms=1, max_ms=1, error_rate=0, met=met,
                      broke_because=None if met else BreakReason.LATENCY)


def test_knee_is_the_highest_met_rate_below_the_first_break() -> None:
    knee, broken = knee_of([_step(20, True), _step(40, True), _step(60, False)])
    assert knee == 40 and broken is not None and broken.rate_rps == 60
    knee, broken = knee_of([_step(20, True), _step(40, True)])
    assert knee == 40 and broken is None
    knee, broken = knee_of([_step(20, False)])
    assert knee is None and broken is not None and broken.rate_rps == 20
    # A noisy pass above a break does not raise the knee.
    knee, _ = knee_of([_step(100, True), _step(400, False), _step(200, False), _step(300, True)])
    assert knee == 100


def test_a_linear_series_of_steps_finds_the_step_where_latency_rises() -> None:
    # A system that is fine up to 60 RPS and slow from 80 RPS: steps of 3 s, 1 s settle excluded.
    series: list[SecondSample] = []
    steps = []
    for k, rate in enumerate((20, 40, 60, 80)):
        slow = rate >= 80
        series += step_series(100 + 3 * k, rate, 3, low=300 if slow else 5, high=900 if slow else 40)
    for k, rate in enumerate((20, 40, 60, 80)):
        steps.append(judge_step(series, rate, 100 + 3 * k + 1, 100 + 3 * k + 3, SLO))
    knee, broken = knee_of(steps)
    assert knee == 60 and broken is not None and broken.rate_rps == 80


def test_bisection_converges_to_within_one_step_of_the_true_limit() -> None:
    limit = 730.0
    probed: list[float] = []

    def probe(rate: float) -> StepResult:
        probed.append(rate)
        return _step(rate, rate <= limit)

    config = CapacityConfig(max_rps=2000, step_rps=50, mode=SearchMode.BISECT)
    steps = bisect_search(probe, config)
    knee, broken = knee_of(steps)
    assert knee == 700 and broken is not None and broken.rate_rps == 750
    assert probed[:2] == [50, 2000] and len(probed) <= 2 + 6  # log2(40) probes after the two ends
    # Every rate held: knee = max; nothing held: no knee.
    assert knee_of(bisect_search(lambda r: _step(r, True), config))[0] == 2000
    assert knee_of(bisect_search(lambda r: _step(r, False), config))[0] is None


def test_bad_capacity_arguments_are_clear_errors() -> None:
    with pytest.raises(InvalidInputError, match="step .* is above max-rps"):
        capacity_config(100, 200, 10)
    with pytest.raises(InvalidInputError, match="settle"):
        capacity_config(100, 20, 3, settle_s=3)
    with pytest.raises(InvalidInputError, match="hold_s"):
        capacity_config(100, 20, 0)
    assert capacity_config(70, 20, 3).rates() == [20, 40, 60]
