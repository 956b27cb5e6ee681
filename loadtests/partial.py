"""One worker's share of one second, as sent from a Locust worker to the master."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from loadtests.records import HIST_HIGHEST_US, GeneratorHealth, decode_histogram, new_histogram


@dataclass
class SecondPartial:
    """Counts and the latency histogram (microseconds) of requests intended in second `t` on one worker."""

    t: int
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    histogram: HdrHistogram = field(default_factory=new_histogram)
    todos_created: int = 0
    todos_completed: int = 0
    users: int = 0
    health: GeneratorHealth = field(default_factory=GeneratorHealth)
    incomplete: int = 0  # requests still in flight when the second was closed by force

    def record(self, latency_us: int, failure: str | None) -> None:
        self.requests += 1
        # Clamp so a pathological value can never raise inside the hot path.
        self.histogram.record_value(min(max(latency_us, 1), HIST_HIGHEST_US))
        if failure is not None:
            self.failures[failure] = self.failures.get(failure, 0) + 1

    def to_message(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "requests": self.requests,
            "failures": self.failures,
            "histogram": self.histogram.encode().decode() if self.requests else "",
            "todos_created": self.todos_created,
            "todos_completed": self.todos_completed,
            "users": self.users,
            "health": self.health.model_dump(),
            "incomplete": self.incomplete,
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> SecondPartial:
        return cls(
            t=int(data["t"]),
            requests=int(data["requests"]),
            failures={str(k): int(v) for k, v in data["failures"].items()},
            histogram=decode_histogram(data["histogram"]),
            todos_created=int(data["todos_created"]),
            todos_completed=int(data["todos_completed"]),
            users=int(data["users"]),
            health=GeneratorHealth.model_validate(data["health"]),
            incomplete=int(data.get("incomplete", 0)),
        )
