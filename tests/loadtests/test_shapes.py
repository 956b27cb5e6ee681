"""The load shapes: level over time and the open model's arrival schedule."""

from __future__ import annotations

from itertools import pairwise

import pytest

from loadtests.plan import LoadPlan, Shape, ShapeKind
from loadtests.shapes import LoadShape


def plan(kind: ShapeKind, **shape: float) -> LoadPlan:
    return LoadPlan(model="open", rps=100, duration_s=40, shape=Shape(kind=kind, **shape))


def test_constant_arrivals_are_exact_and_even() -> None:
    shape = LoadShape.of(LoadPlan(model="open", rps=50, duration_s=5))
    times = list(shape.arrivals())
    assert len(times) == 250
    gaps = {round(b - a, 9) for a, b in pairwise(times)}
    assert gaps == {0.02}


def test_workers_interleave_into_one_even_stream() -> None:
    shape = LoadShape.of(LoadPlan(model="open", rps=300, duration_s=2))
    merged = sorted([*shape.arrivals(1 / 3, 0 / 3), *shape.arrivals(1 / 3, 1 / 3), *shape.arrivals(1 / 3, 2 / 3)])
    assert len(merged) == 600
    gaps = [b - a for a, b in pairwise(merged)]
    assert min(gaps) == pytest.approx(1 / 300) and max(gaps) == pytest.approx(1 / 300)


def test_ramp_grows_linearly_then_holds() -> None:
    shape = LoadShape.of(plan(ShapeKind.RAMP, start_fraction=0.0, ramp_s=10))
    assert shape.level(0) == 0
    assert shape.level(5) == pytest.approx(50)
    assert shape.level(20) == pytest.approx(100)
    times = list(shape.arrivals())
    first_10 = sum(1 for t in times if t < 10)
    assert first_10 == pytest.approx(500, rel=0.02)  # the area under the ramp


def test_step_and_spike_levels() -> None:
    step = LoadShape.of(plan(ShapeKind.STEP, steps=4, step_s=5))
    assert [step.level(t) for t in (0, 5, 10, 15, 30)] == [25, 50, 75, 100, 100]
    spike = LoadShape.of(plan(ShapeKind.SPIKE, spike_factor=3, spike_at_s=10, spike_s=5))
    assert [spike.level(t) for t in (9.9, 10, 14.9, 15)] == [100, 300, 300, 100]
    times = list(spike.arrivals())
    assert sum(1 for t in times if 10 <= t < 15) == pytest.approx(1500, abs=3)
    assert spike.peak() == 300


def test_closed_users_follow_the_shape() -> None:
    shape = LoadShape.of(
        LoadPlan(model="closed", users=1000, duration_s=30, shape=Shape(kind=ShapeKind.STEP, steps=2, step_s=10))
    )
    assert shape.users(0) == 500 and shape.users(12) == 1000
    assert shape.mean_level() == pytest.approx((500 * 10 + 1000 * 20) / 30, rel=0.01)
