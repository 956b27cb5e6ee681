"""Capacity search: raise the open-model arrival rate until the SLO breaks; the knee is the last rate that held.

Two searches share one judgement of a step (`judge_step`):

- linear: one load run whose step shape raises the rate by `step_rps` every `hold_s`; the run is stopped
  at the first step that breaks the SLO, so the knee is the step before it;
- bisect: one short constant-rate run per probe (min, max, then midpoints on the `step_rps` grid) until
  the met and broken rates are one step apart.

Each step is judged by `verify.capacity.judge_step`; this module only drives the load.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.errors import InvalidInputError, LoadError
from loadtests.plan import LoadModel, LoadPlan, Shape, ShapeKind
from loadtests.records import SecondSample
from loadtests.runner import LoadRunner
from verify.capacity import CapacityResult, SearchMode, StepResult, judge_step, knee_of
from verify.slo import Slo


class CapacityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_rps: float = Field(gt=0, description="highest rate tried")
    step_rps: float = Field(gt=0, description="rate increment; rates are step, 2 x step, ... <= max")
    hold_s: float = Field(60.0, ge=1, description="seconds each step is held")
    settle_s: float | None = Field(None, ge=0, description="seconds excluded at each step start; default hold/5, 1..10")
    mode: SearchMode = SearchMode.LINEAR
    slo: Slo = Field(default_factory=Slo)
    load: LoadPlan = Field(
        default_factory=lambda: LoadPlan(rps=1.0),
        description="workers, accounts, weights and request timeout of the runs (its rate and shape are replaced)",
    )

    @model_validator(mode="after")
    def _grid(self) -> Self:
        if self.step_rps > self.max_rps:
            raise ValueError(f"step ({self.step_rps:g} RPS) is above max-rps ({self.max_rps:g} RPS)")
        if self.settle_s is not None and self.settle_s >= self.hold_s:
            raise ValueError(f"settle ({self.settle_s:g} s) must be shorter than hold ({self.hold_s:g} s)")
        return self

    @property
    def settle(self) -> float:
        if self.settle_s is not None:
            return self.settle_s
        return float(min(max(round(self.hold_s / 5), 1), 10))

    def rates(self) -> list[float]:
        n = math.floor(self.max_rps / self.step_rps + 1e-9)
        return [round(k * self.step_rps, 6) for k in range(1, n + 1)]


def bisect_search(probe: Callable[[float], StepResult], config: CapacityConfig) -> list[StepResult]:
    """Probe the lowest rate, the highest, then midpoints on the step grid; the steps in probe order."""
    rates = config.rates()
    steps = [probe(rates[0])]
    if not steps[0].met or len(rates) == 1:
        return steps
    steps.append(probe(rates[-1]))
    if steps[-1].met:
        return steps
    lo, hi = 0, len(rates) - 1  # indexes: rates[lo] met, rates[hi] broke
    while hi - lo > 1:
        mid = (lo + hi) // 2
        steps.append(probe(rates[mid]))
        if steps[-1].met:
            lo = mid
        else:
            hi = mid
    return steps


class CapacitySearch:
    """Runs a capacity search against `target_url` with the load runner; writes runs under `run_dir`."""

    def __init__(self, target_url: str, config: CapacityConfig, run_dir: Path | str, *, target: str = "local",
                 on_step: Callable[[StepResult], None] | None = None) -> None:
        self.target_url = target_url
        self.config = config
        self.run_dir = Path(run_dir).absolute()
        self.target = target
        self._on_step = on_step
        self.series: list[SecondSample] = []  # every second seen, for the report's time chart

    def run(self) -> CapacityResult:
        started = time.time()
        if self.config.mode is SearchMode.LINEAR:
            steps = self._linear()
        else:
            steps = bisect_search(self._probe, self.config)
        knee, broken = knee_of(steps)
        return CapacityResult(
            run_id=time.strftime("%Y%m%d-%H%M%S", time.gmtime(started)) + "-" + uuid.uuid4().hex[:6],
            target=self.target, started_at=started, finished_at=time.time(), mode=self.config.mode,
            max_rps=self.config.max_rps, step_rps=self.config.step_rps, hold_s=self.config.hold_s,
            settle_s=self.config.settle, slo=self.config.slo, knee_rps=knee,
            broke_at_rps=broken.rate_rps if broken else None,
            broke_because=broken.broke_because if broken else None,
            broke_reasons=broken.reasons if broken else [], steps=steps,
        )

    def _plan(self, rate: float, shape: Shape, duration_s: float) -> LoadPlan:
        return self.config.load.model_copy(
            update={"model": LoadModel.OPEN, "rps": rate, "shape": shape, "duration_s": duration_s})

    def _judged(self, by_t: dict[int, SecondSample], start: float, index: int, rate: float) -> StepResult:
        hold, settle = self.config.hold_s, self.config.settle
        first = math.ceil(start + index * hold + settle)
        last = math.floor(start + (index + 1) * hold)  # exclusive: only whole seconds of this step
        step = judge_step(by_t, rate, first, max(first, last), self.config.slo)
        if self._on_step is not None:
            self._on_step(step)
        return step

    def _linear(self) -> list[StepResult]:
        rates = self.config.rates()
        shape = Shape(kind=ShapeKind.STEP, steps=len(rates), step_s=self.config.hold_s)
        plan = self._plan(rates[-1], shape, len(rates) * self.config.hold_s)
        runner = LoadRunner(self.target_url, plan, self.run_dir / "linear")
        by_t: dict[int, SecondSample] = {}
        steps: list[StepResult] = []
        try:
            runner.start()
            start = runner.start_epoch
            assert start is not None
            for sample in runner.samples():
                by_t[sample.t] = sample
                self.series.append(sample)
                # A step is judged once a second past its end has arrived.
                while len(steps) < len(rates) and sample.t >= start + (len(steps) + 1) * self.config.hold_s:
                    steps.append(self._judged(by_t, start, len(steps), rates[len(steps)]))
                    if not steps[-1].met:
                        return steps
            while len(steps) < len(rates):  # the run ended: judge what is left with what arrived
                steps.append(self._judged(by_t, start, len(steps), rates[len(steps)]))
                if not steps[-1].met:
                    break
            return steps
        finally:
            runner.stop()

    def _probe(self, rate: float) -> StepResult:
        plan = self._plan(rate, Shape(kind=ShapeKind.CONSTANT), self.config.hold_s)
        runner = LoadRunner(self.target_url, plan, self.run_dir / f"probe-{rate:g}")
        by_t: dict[int, SecondSample] = {}
        try:
            runner.start()
            for sample in runner.samples():  # ends when the run has streamed its last second
                by_t[sample.t] = sample
                self.series.append(sample)
        finally:
            runner.stop()
        if runner.start_epoch is None:
            raise LoadError(f"the probe at {rate:g} RPS never started")
        return self._judged(by_t, runner.start_epoch, 0, rate)


def capacity_config(max_rps: float, step_rps: float, hold_s: float, **fields: object) -> CapacityConfig:
    """Build a CapacityConfig from CLI-style values; a bad combination is an InvalidInputError."""
    try:
        return CapacityConfig(max_rps=max_rps, step_rps=step_rps, hold_s=hold_s, **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(".".join(str(p) for p in e["loc"]) + ": " * bool(e["loc"]) + e["msg"].removeprefix("Value error, ")
                             for e in exc.errors(include_url=False))
        raise InvalidInputError(f"capacity: {problems}") from None
