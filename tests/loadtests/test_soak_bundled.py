"""A short soak against the real bundled service, with the service's memory sampled by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from loadtests.plan import LoadPlan
from loadtests.soak import Soak, SoakConfig
from service.launcher import ServiceProcess


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(tmp_path / "service", port=0, workers=2, password_cost_log2=10)
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def test_soak_reports_windows_and_the_memory_of_every_service_process(service: ServiceProcess, tmp_path: Path) -> None:
    assert service.pid is not None
    processes = 1 + len(psutil.Process(service.pid).children(recursive=True))
    assert processes >= 3  # the supervisor and its two workers
    config = SoakConfig(load=LoadPlan(rps=30, duration_s=6, accounts=4, workers=1), warmup_s=1, windows=5,
                        rss_interval_s=0.25)
    result = Soak(service.url, config, tmp_path / "soak", target="unit", service_pid=service.pid).run()

    assert result.target == "unit" and result.seconds == 5 and len(result.windows) == 5
    assert result.overall.requests == 5 * 30 and result.overall.error_rate == 0
    assert all(w.requests == 30 and w.p95_ms > 0 for w in result.windows)
    assert result.slo_violations == []
    memory = result.memory
    assert memory is not None and memory.points
    # Summed over the supervisor and its workers: more than any one of them alone.
    biggest = max(p.memory_info().rss for p in [psutil.Process(service.pid), *psutil.Process(service.pid).children()])
    assert all(p.processes == processes for p in memory.points)
    assert memory.first_mb * 1024 * 1024 > biggest * 0.9 and memory.peak_mb >= memory.first_mb

