"""Records the load runner streams to its caller and writes to disk.

This module is the contract between `loadtests` (producer) and `scenarios` /
`verify` (consumers). It must not import locust: the engine and the checks load
it in processes that also use boto3.
"""

from __future__ import annotations

from enum import StrEnum

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, Field

# Latency histograms are recorded in microseconds, 1 us .. 120 s, 3 significant
# digits: percentiles read from them are within 0.1 % of the exact values.
HIST_LOWEST_US = 1
HIST_HIGHEST_US = 120_000_000
HIST_DIGITS = 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_DIGITS)


def decode_histogram(encoded: str) -> HdrHistogram:
    hist = new_histogram()
    if encoded:
        hist.decode_and_add(encoded)
    return hist


class FailureKind(StrEnum):
    """Why a request failed. HTTP failures are keyed `http_<status>` in SecondSample.failures."""

    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    TLS_ERROR = "tls_error"  # the TLS handshake failed: a certificate not trusted, no common protocol
    OTHER = "other"

    @staticmethod
    def http(status: int) -> str:
        return f"http_{status}"


# A 404 for an item the client itself wrote is an answer about data, not a failure to serve: after a
# restore to an earlier point the item is simply gone. The write-ledger integrity check judges that loss
# (lost writes, RPO); the SLO's error rate counts every other failure, 5xx, 429, 401, timeouts and resets.
DATA_ANSWERS = frozenset({"http_404"})


def counts_as_error(kind: str) -> bool:
    return kind not in DATA_ANSWERS


class GeneratorHealth(BaseModel):
    """How busy the load generator itself was during one second."""

    cpu_percent: float = 0.0  # max over generator processes, percent of one core
    loop_lag_ms: float = 0.0  # max event-loop (gevent hub) lag seen in the second
    saturated: bool = False


class SecondSample(BaseModel):
    """Everything the load saw in one wall-clock second, merged across workers.

    `t` is the epoch second the requests were *intended* to be sent in (open
    model) or were sent in (closed model), so a stall shows up in the second
    it happened, not when the responses finally completed.
    """

    t: int
    requests: int = 0
    failures: dict[str, int] = Field(default_factory=dict)
    histogram: str = ""  # HdrHistogram.encode() of latencies in microseconds, all requests
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    todos_created: int = 0
    todos_completed: int = 0
    users: int = 0
    target_rps: float | None = None
    generator: GeneratorHealth = Field(default_factory=GeneratorHealth)

    @property
    def failed(self) -> int:
        """Failures that count against the SLO's error rate (see `counts_as_error`)."""
        return sum(n for kind, n in self.failures.items() if counts_as_error(kind))

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


class WriteOp(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class WriteOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # 2xx: the service promised the write
    FAILED = "failed"  # a definite error response: the write did not happen
    UNKNOWN = "unknown"  # timeout / connection reset: it may or may not have landed


class LedgerRecord(BaseModel):
    """One write the load made, appended to the ledger file (JSON lines) as it completes."""

    op: WriteOp
    id: str  # client-chosen todo id
    user: str  # username owning the todo
    sent_at: float  # epoch seconds, intended send time
    completed_at: float
    outcome: WriteOutcome
    status: int | None = None  # HTTP status if a response came back
    title: str | None = None  # title written (create/update), to detect corruption on read-back
    done: bool | None = None  # done flag written (create/update)


class RssPoint(BaseModel):
    """The summed resident memory of a process tree (the service under a soak) at one moment."""


    t: float  # epoch seconds
    rss_mb: float
    processes: int
