"""The summary of a load run (`hanbit-drill load --json`), computed from merged per-second histograms."""

from __future__ import annotations

from pydantic import BaseModel, Field

from loadtests.records import SecondSample, decode_histogram, new_histogram

# The run is called generator-saturated when at least this share of its seconds were.
SATURATED_SHARE = 0.05


class LoadSummary(BaseModel):
    achieved_rps: float = Field(description="requests / seconds of the run (failed ones included)")
    ok_rps: float = Field(description="requests that succeeded / seconds of the run")
    target_rps: float | None = Field(description="planned mean rate (closed model: users / think time)")
    users: int | None = Field(description="closed model: peak simulated users measured (open model: None)")
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_rate: float
    requests: int
    failures: dict[str, int]
    generator_saturated: bool = Field(description="the generator itself was the bottleneck in >= 5 % of seconds")
    saturated_seconds: int
    generator_max_cpu_percent: float
    generator_max_loop_lag_ms: float
    seconds: int
    todos_created: int
    todos_completed: int
    todos_created_per_s: float
    completion_rate: float = Field(description="todos completed / todos created")


class SummaryBuilder:
    """Folds SecondSamples into running totals and one merged histogram (no samples are kept)."""

    def __init__(self, target_rps: float | None, users: int | None) -> None:
        self._target_rps = target_rps
        self._users = users
        self._hist = new_histogram()
        self.requests = 0
        self.failures: dict[str, int] = {}
        self.seconds = 0
        self.saturated_seconds = 0
        self.max_cpu = 0.0
        self.max_lag = 0.0
        self.created = 0
        self.completed = 0
        self.peak_users = 0

    def add(self, sample: SecondSample) -> None:
        self.seconds += 1
        self.requests += sample.requests
        for kind, n in sample.failures.items():
            self.failures[kind] = self.failures.get(kind, 0) + n
        if sample.histogram:
            self._hist.add(decode_histogram(sample.histogram))
        health = sample.generator
        self.saturated_seconds += health.saturated
        self.max_cpu = max(self.max_cpu, health.cpu_percent)
        self.max_lag = max(self.max_lag, health.loop_lag_ms)
        self.created += sample.todos_created
        self.completed += sample.todos_completed
        self.peak_users = max(self.peak_users, sample.users)

    def build(self) -> LoadSummary:
        h = self._hist
        pct = h.get_percentile_to_value_dict([50.0, 90.0, 95.0, 99.0]) if self.requests else {}
        failed = sum(self.failures.values())
        secs = max(self.seconds, 1)
        return LoadSummary(
            achieved_rps=self.requests / secs,
            ok_rps=(self.requests - failed) / secs,
            target_rps=self._target_rps,
            users=None if self._users is None else (self.peak_users or self._users),
            p50_ms=pct.get(50.0, 0) / 1000.0,
            p90_ms=pct.get(90.0, 0) / 1000.0,
            p95_ms=pct.get(95.0, 0) / 1000.0,
            p99_ms=pct.get(99.0, 0) / 1000.0,
            max_ms=h.get_max_value() / 1000.0 if self.requests else 0.0,
            error_rate=failed / self.requests if self.requests else 0.0,
            requests=self.requests,
            failures=dict(sorted(self.failures.items())),
            generator_saturated=self.seconds > 0 and self.saturated_seconds >= SATURATED_SHARE * self.seconds,
            saturated_seconds=self.saturated_seconds,
            generator_max_cpu_percent=self.max_cpu,
            generator_max_loop_lag_ms=self.max_lag,
            seconds=self.seconds,
            todos_created=self.created,
            todos_completed=self.completed,
            todos_created_per_s=self.created / secs,
            completion_rate=self.completed / self.created if self.created else 0.0,
        )
