"""Soak: run a long constant load against a target, sample the service's memory, and have it judged
(`verify.soak.analyze_soak`: drift of latency and errors, memory growth)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from loadtests.plan import Shape, ShapeKind
from loadtests.records import SecondSample
from loadtests.rss_sampler import RssSampler
from loadtests.runner import LoadRunner
from verify.soak import SoakConfig, SoakResult, analyze_soak


class Soak:
    """Runs a soak against `target_url`; `service_pid` (bundled service) enables the memory check."""

    def __init__(self, target_url: str, config: SoakConfig, run_dir: Path | str, *, target: str = "local",
                 service_pid: int | None = None) -> None:
        self.target_url = target_url
        self.config = config
        self.run_dir = Path(run_dir).absolute()
        self.target = target
        self.service_pid = service_pid
        self.series: list[SecondSample] = []

    def run(self) -> SoakResult:
        started = time.time()
        plan = self.config.load.model_copy(update={"shape": Shape(kind=ShapeKind.CONSTANT)})
        sampler = RssSampler(self.service_pid, self.config.rss_interval_s) if self.service_pid else None
        runner = LoadRunner(self.target_url, plan, self.run_dir)
        try:
            if sampler is not None:
                sampler.start()
            runner.start()
            for sample in runner.samples():  # ends when the run has streamed its last second
                self.series.append(sample)
        finally:
            runner.stop()
            rss = sampler.stop() if sampler is not None else []
        start = runner.start_epoch or started
        end_t = int(start + plan.duration_s)
        return analyze_soak(
            self.series, int(start), end_t, rss, self.config,
            run_id=time.strftime("%Y%m%d-%H%M%S", time.gmtime(started)) + "-" + uuid.uuid4().hex[:6],
            target=self.target, started_at=started, finished_at=time.time(),
        )
