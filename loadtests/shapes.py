"""How the load level changes over a run: the four shapes of a `LoadPlan`, as functions of time.

The same `LoadShape` drives the open model's arrival rate (in every worker) and the closed model's user
count (on the Locust master), and tells the stream which rate each second was meant to carry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from loadtests.plan import LoadModel, LoadPlan, Shape, ShapeKind

_STEP_S = 0.001  # integration step of the arrival schedule; shapes change far slower
_EPSILON_S = 1e-9


@dataclass(frozen=True)
class LoadShape:
    """`level(t)`: the rate (open) or user count (closed) `t` seconds after the start."""

    shape: Shape
    base: float
    duration_s: float

    @classmethod
    def of(cls, plan: LoadPlan) -> LoadShape:
        base = plan.rps if plan.model is LoadModel.OPEN else plan.users
        assert base is not None  # LoadPlan validates that the model's level is set
        return cls(plan.shape, float(base), plan.duration_s)

    def fraction(self, t: float) -> float:
        """Share of the base level in force at `t` (may exceed 1 during a spike)."""
        s = self.shape
        if t < 0:
            return 0.0
        match s.kind:
            case ShapeKind.CONSTANT:
                return 1.0
            case ShapeKind.RAMP:
                return s.start_fraction + (1.0 - s.start_fraction) * min(t / s.ramp_s, 1.0)
            case ShapeKind.STEP:
                return min(t // s.step_s + 1, s.steps) / s.steps
            case ShapeKind.SPIKE:
                in_spike = s.spike_at_s <= t < s.spike_at_s + s.spike_s
                return s.spike_factor if in_spike else 1.0
        raise AssertionError(s.kind)

    def level(self, t: float) -> float:
        return self.base * self.fraction(t)

    def users(self, t: float) -> int:
        """Closed model: whole users in force at `t`."""
        return round(self.level(t))

    def peak(self) -> float:
        factor = self.shape.spike_factor if self.shape.kind is ShapeKind.SPIKE else 1.0
        return self.base * max(factor, 1.0)

    def mean_level(self, step_s: float = 0.01) -> float:
        """Average level over the run, by numeric integration (shapes are piecewise linear)."""
        n = max(int(self.duration_s / step_s), 1)
        dt = self.duration_s / n
        return sum(self.level((i + 0.5) * dt) for i in range(n)) / n

    def arrivals(self, share: float = 1.0, phase: float = 0.0) -> Iterator[float]:
        """Open model: offsets (seconds from the start) of evenly spaced arrivals, until the duration.

        Arrival k is sent when the expected count (the integral of the rate) reaches k + `phase`.
        `share` is this worker's part of the rate (1/W) and `phase` in [0, 1) its place between the
        other workers' arrivals, so W workers together send one evenly spaced stream.
        """
        t = 0.0
        expected = 0.0
        due = phase
        end = self.duration_s - _EPSILON_S
        while t < end:
            t1 = min(t + _STEP_S, self.duration_s)
            rate = self.level((t + t1) / 2) * share
            reached = expected + rate * (t1 - t)
            while due < reached:
                at = t + (due - expected) / rate
                if at >= end:
                    return
                yield at
                due += 1.0
            t, expected = t1, reached
