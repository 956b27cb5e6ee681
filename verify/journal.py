"""The journal of one drill run (`journal.json`): the single source of every verdict and report.

The engine writes it to disk before each step (fault injection included), so a
run killed at any point leaves a journal from which `hanbit-drill cleanup`
reverts what it injected and from which reports can be rendered.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, JsonValue

from loadtests.records import SecondSample
from verify.slo import AlarmRule, Slo


class RunStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"  # ran to the end, a check failed
    ABORTED = "aborted"  # a stop condition, Ctrl-C or SIGTERM ended it early
    ERROR = "error"  # the harness, the target or a provider failed


class PhaseName(StrEnum):
    PREFLIGHT = "preflight"
    SEED = "seed"
    LOAD = "load"
    BASELINE = "baseline"
    INJECT = "inject"
    DETECT = "detect"
    REMEDIATE = "remediate"
    RECOVER = "recover"
    VERIFY = "verify"
    REVERT = "revert"
    REPORT = "report"


class PhaseRecord(BaseModel):
    name: PhaseName
    started_at: float  # epoch seconds
    ended_at: float | None = None


class FaultRecord(BaseModel):
    """One injected fault. Written with `injected_at=None` *before* the injection is attempted."""

    id: str
    action: str  # provider-neutral action name, see chaos.actions
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    provider: str
    target: str
    intended_at: float  # when the engine decided to inject (journal written, call not yet made)
    injected_at: float | None = None
    reverted_at: float | None = None
    revert_error: str | None = None
    # Provider-specific data needed to undo the fault (snapshot of what it changed).
    undo: dict[str, JsonValue] = Field(default_factory=dict)


class RemediationRecord(BaseModel):
    action: str
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    started_at: float
    ended_at: float | None = None
    error: str | None = None
    detail: dict[str, JsonValue] = Field(default_factory=dict)
    # Game day (`by: operator`): the page, the acknowledgement, the action seen on the target.
    by: str = "harness"
    runbook: str | None = None  # as paged, with the target's values
    paged_at: float | None = None
    page_error: str | None = None  # the webhook could not be reached (the console page was shown)
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    action_observed_at: float | None = None
    action_matches_runbook: bool | None = None
    action_detail: str | None = None
    action_by: str | None = None
    operator_deadline: float | None = None
    taken_over_at: float | None = None  # nobody acted in time: the harness performed the step itself

    @property
    def shortfalls(self) -> list[str]:
        """What the step says it left undone (its detail's `not_*` lists, e.g. a restore's `not_restored`):
        the reports show them next to its result, so "ok" never hides a half-configured system."""
        found = [v for key, values in self.detail.items() if key.startswith("not_") and isinstance(values, list)
                 for v in values]
        return [str(v) for v in found]


class CheckRecord(BaseModel):
    name: str
    passed: bool
    value: float | str | None = None
    limit: float | str | None = None
    unit: str = ""
    detail: str = ""


class LedgerSummary(BaseModel):
    writes: int = 0
    acknowledged: int = 0
    lost: int = 0
    corrupted: int = 0
    unknown: int = 0
    unexpected: int = 0
    rpo_s: float | None = None  # age at the fault of the oldest lost acknowledged write
    lost_ids: list[str] = Field(default_factory=list)
    corrupted_ids: list[str] = Field(default_factory=list)


class Journal(BaseModel):
    run_id: str
    scenario: str
    description: str = ""
    profile: str
    target: str
    target_kind: str = ""
    status: RunStatus = RunStatus.RUNNING
    expected_to_fail: bool = False
    reason: str = ""  # why it failed / aborted / errored, in one line
    started_at: float
    ended_at: float | None = None
    time_scale: float = 1.0
    rto_s: float | None = None
    rpo_s: float | None = None
    sustained_s: float | None = None
    phases: list[PhaseRecord] = Field(default_factory=list)
    faults: list[FaultRecord] = Field(default_factory=list)
    remediations: list[RemediationRecord] = Field(default_factory=list)
    fault_at: float | None = None  # first fault injected (epoch s)
    detected_at: float | None = None
    remediated_at: float | None = None
    recovered_at: float | None = None
    detection_s: float | None = None
    recovery_s: float | None = None
    # The promises the run was judged against (reports redraw thresholds and healthy seconds from them).
    slo: Slo | None = None
    alarm: AlarmRule | None = None  # the detection rule, period already scaled
    checks: list[CheckRecord] = Field(default_factory=list)
    ledger: LedgerSummary | None = None
    series: list[SecondSample] = Field(default_factory=list)
    # A region drill: which region answered the clients' path (the load's URL) each epoch second, or why
    # none did (loadtests.served_region): failover, made visible.
    served_by: dict[int, str] = Field(default_factory=dict)
    # Enough to rebuild the provider in another process (`hanbit-drill cleanup` after kill -9).
    target_config: dict[str, JsonValue] = Field(default_factory=dict)
    provider_runtime: dict[str, JsonValue] = Field(default_factory=dict)
    harness_pid: int | None = None  # the `hanbit-drill run` process; cleanup leaves a live run alone
    # A bundled service the run started itself: cleanup stops it if the run was killed.
    service_pid: int | None = None
    service_url: str | None = None
    service_data_dir: str | None = None

    def phase(self, name: PhaseName) -> PhaseRecord | None:
        return next((p for p in self.phases if p.name == name), None)

    def open_faults(self) -> list[FaultRecord]:
        """Faults that may be in effect: journaled for injection and not (successfully) reverted."""
        return [f for f in self.faults if f.reverted_at is None]

    def save(self, path: Path) -> None:
        """Atomically replace `path`: a reader (or `cleanup` after kill -9) never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".journal-", dir=path.parent)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.model_dump_json(indent=1))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Journal":
        return cls.model_validate_json(path.read_text())


def iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
