"""What every report shows, derived once from a journal: timings, windows, per-second health, verdict text.

Timings prefer what the engine recorded in the journal (the live trackers) and
fall back to recomputing them from the series with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import gettext as _
from loadtests.records import SecondSample
from verify.drill import (
    DrillTimings,
    DrillWindows,
    detector_title,
    drill_timings,
    drill_windows,
    judged_rule,
    judged_slo,
)
from verify.journal import Journal, RunStatus
from verify.slo import AlarmRule, Slo
from verify.windows import SecondHealth, index_series, second_health, seconds_in


@dataclass(frozen=True)
class ReportData:
    journal: Journal
    slo: Slo
    alarm: AlarmRule
    timings: DrillTimings
    windows: DrillWindows
    origin: float  # x = 0 of the charts: the fault, or the first second of load
    first_bad_at: float | None  # the first whole second after the fault that breached the alarm's thresholds
    detected_at: float | None  # the alarm time: when the on-call was paged
    detected_by: str
    remediated_at: float | None
    recovered_at: float | None

    def rel(self, ts: float | None) -> float | None:
        return None if ts is None else ts - self.origin

    @property
    def verdict(self) -> str:
        status = self.journal.status
        if self.journal.expected_to_fail and status is RunStatus.FAILED:
            return "FAILED (as expected)"
        if self.journal.expected_to_fail and status is RunStatus.PASSED:
            return "PASSED (expected to fail)"
        return status.value.upper()  # INCONCLUSIVE: no check failed, one could not be judged

    @property
    def verdict_text(self) -> str:
        """The verdict as people read it, in the chosen language (`verdict` stays the record's English)."""
        status = self.journal.status
        if self.journal.expected_to_fail and status is RunStatus.FAILED:
            return _("FAILED (as expected)")
        if self.journal.expected_to_fail and status is RunStatus.PASSED:
            return _("PASSED (expected to fail)")
        texts = {RunStatus.RUNNING: _("RUNNING"), RunStatus.PASSED: _("PASSED"), RunStatus.FAILED: _("FAILED"),
                 RunStatus.ABORTED: _("ABORTED"), RunStatus.ERROR: _("ERROR"),
                 RunStatus.INCONCLUSIVE: _("INCONCLUSIVE")}
        return texts.get(status, status.value.upper())

    @property
    def detected_by_text(self) -> str:
        return detector_title(self.detected_by)

    @property
    def verdict_ok(self) -> bool:
        return self.journal.status is RunStatus.PASSED or (
            self.journal.expected_to_fail and self.journal.status is RunStatus.FAILED
        )

    @property
    def first_bad_s(self) -> float | None:
        return None if self.first_bad_at is None or self.timings.fault_at is None else self.first_bad_at - self.timings.fault_at

    @property
    def detection_s(self) -> float | None:
        return None if self.detected_at is None or self.timings.fault_at is None else self.detected_at - self.timings.fault_at

    @property
    def recovery_s(self) -> float | None:
        return None if self.recovered_at is None or self.timings.fault_at is None else self.recovered_at - self.timings.fault_at

    def seconds(self) -> list[SecondSample]:
        """Every second from the first to the last sample, gaps as empty (zero-traffic) samples."""
        series = self.journal.series
        if not series:
            return []
        by_t = index_series(series)
        return list(seconds_in(by_t, min(by_t), max(by_t) + 1))

    def health(self) -> list[SecondHealth]:
        return [second_health(s, self.slo) for s in self.seconds()]


def unit_title(unit: str) -> str:
    """A check's unit as people read it (the record keeps the English word; s, ms and RPS read the same)."""
    return {"items": _("items"), "ratio": _("ratio")}.get(unit, unit)


def report_data(journal: Journal) -> ReportData:
    slo, alarm = judged_slo(journal), judged_rule(journal)
    timings = drill_timings(journal, slo, alarm)
    windows = drill_windows(journal, slo, timings)
    first = min((s.t for s in journal.series), default=journal.started_at)
    origin = timings.fault_at if timings.fault_at is not None else float(first)
    remediated = journal.remediated_at
    if remediated is None:
        ends = [r.ended_at for r in journal.remediations if r.ended_at is not None and r.error is None]
        after = [e for e in ends if timings.fault_at is not None and e >= timings.fault_at]
        remediated = max(after) if after else None
    return ReportData(
        journal=journal,
        slo=slo,
        alarm=alarm,
        timings=timings,
        windows=windows,
        origin=origin,
        first_bad_at=journal.first_bad_at if journal.first_bad_at is not None else timings.first_bad_at,
        detected_at=journal.detected_at if journal.detected_at is not None else timings.detected_at,
        detected_by=journal.detected_by or (timings.detection.by if timings.detection else ""),
        remediated_at=remediated,
        recovered_at=journal.recovered_at if journal.recovered_at is not None else timings.recovered_at,
    )
