"""The journal of one drill run (`journal.json` + `series.jsonl`): the single source of every verdict and report.

The engine writes it to disk before each step (fault injection included), so a
run killed at any point leaves a journal from which `hanbit-drill cleanup`
reverts what it injected and from which reports can be rendered.

The per-second series grows with the drill (hours of samples and histograms), so it is not rewritten
with the rest: each sample is appended once to `series.jsonl` next to `journal.json` (one JSON line,
flushed; `flush_series`), and `journal.json` holds everything else, small enough to replace atomically
at every step. `Journal.load` returns the whole journal, series included; a journal written before
`series.jsonl` existed (its series inline) still loads, and is split on its next save.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, JsonValue, PrivateAttr, ValidationError, model_validator

from common.errors import InvalidInputError
from loadtests.records import SecondSample
from verify.slo import AlarmRule, Slo


class RunStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"  # ran to the end, a check failed
    ABORTED = "aborted"  # a stop condition, Ctrl-C or SIGTERM ended it early
    ERROR = "error"  # the harness, the target or a provider failed
    INCONCLUSIVE = "inconclusive"  # ran to the end, no check failed, a check could not be judged


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


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"  # the measurement cannot be trusted (e.g. the load generator was saturated)


class CheckRecord(BaseModel):
    """One check's verdict. `passed` is kept for readers of older journals: True exactly when `verdict` is
    passed; a record given only one of the two gets the other."""

    name: str
    passed: bool
    verdict: Verdict
    value: float | str | None = None
    limit: float | str | None = None
    unit: str = ""
    detail: str = ""

    @model_validator(mode="before")
    @classmethod
    def _verdict_or_passed(cls, data: object) -> object:
        if isinstance(data, dict):
            if "verdict" not in data and "passed" in data:
                data = {**data, "verdict": Verdict.PASSED if data["passed"] else Verdict.FAILED}
            elif "passed" not in data and "verdict" in data:
                data = {**data, "passed": data["verdict"] == Verdict.PASSED}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "CheckRecord":
        if self.passed != (self.verdict is Verdict.PASSED):
            raise ValueError(f"check {self.name}: passed={self.passed} contradicts verdict {self.verdict.value}")
        return self

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAILED

    @property
    def inconclusive(self) -> bool:
        return self.verdict is Verdict.INCONCLUSIVE


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
    first_bad_at: float | None = None  # the first whole second after the fault that breached the alarm's thresholds
    first_bad_s: float | None = None
    detected_at: float | None = None  # when the alarm went to ALARM (the on-call is paged): see detected_by
    remediated_at: float | None = None
    recovered_at: float | None = None
    detection_s: float | None = None
    detected_by: str = ""  # "cloudwatch model", "trailing model", or "alarm NAME" (the target's own alarm)
    # The target's own detection alarms (e.g. CloudWatch's, by name): when each went to ALARM after the fault.
    alarm_times: dict[str, float | None] = Field(default_factory=dict)
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

    # Where this journal's samples were appended, and how many (see flush_series).
    _series_file: Path | None = PrivateAttr(None)
    _series_written: int = PrivateAttr(0)

    def phase(self, name: PhaseName) -> PhaseRecord | None:
        return next((p for p in self.phases if p.name == name), None)

    def open_faults(self) -> list[FaultRecord]:
        """Faults that may be in effect: journaled for injection and not (successfully) reverted."""
        return [f for f in self.faults if f.reverted_at is None]

    def save(self, path: Path) -> None:
        """Append new samples to `series.jsonl`, then atomically replace `path` (the journal without its
        series): a reader (or `cleanup` after kill -9) never sees half a journal."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_series(path)
        fd, tmp = tempfile.mkstemp(prefix=".journal-", dir=path.parent)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.model_dump_json(indent=1, exclude={"series"}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def flush_series(self, path: Path) -> None:
        """Append the samples not yet written to the `series.jsonl` beside `path`, one line each, flushed.

        Not fsynced per line: a machine crash may cost the last seconds of samples, never the journal's
        faults (those are in `journal.json`, fsynced). A file this journal did not write is started afresh.
        """
        target = path.parent / SERIES_FILE
        fresh = self._series_file != target or self._series_written > len(self.series)
        start = 0 if fresh else self._series_written
        if not fresh and start == len(self.series):
            return
        with target.open("w" if fresh else "a", encoding="utf-8") as handle:
            handle.writelines(sample.model_dump_json() + "\n" for sample in self.series[start:])
            handle.flush()
        self._series_file, self._series_written = target, len(self.series)

    @classmethod
    def load(cls, path: Path) -> "Journal":
        """The whole journal: `journal.json`, and its series from `series.jsonl` (or inline, if older)."""
        journal = cls.model_validate_json(path.read_text())
        series_path = path.parent / SERIES_FILE
        if not journal.series and series_path.exists():
            journal.series = read_series(series_path)
            journal._series_file, journal._series_written = series_path, len(journal.series)
        return journal


SERIES_FILE = "series.jsonl"


def read_series(path: Path) -> list[SecondSample]:
    """The samples of a `series.jsonl`; a last line cut short (the run was killed mid-write) is dropped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    samples: list[SecondSample] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            samples.append(SecondSample.model_validate_json(line))
        except ValidationError:
            if number == len(lines):
                break  # the write that was cut short
            raise InvalidInputError(f"{path}:{number}: not a per-second sample") from None
    return samples


def iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
