"""A drill's key timings and windows, computed from its journal alone (pure functions).

The seconds the load ran are the series' seconds; the baseline starts with the
engine's BASELINE phase when it has one (ramp-up excluded). Windows use whole
seconds: the baseline ends before the second in which the fault landed, the
fault window runs from that second to the recovery, and the after-recovery
window from the recovery to the end of the load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from verify.detector import Detection, detect
from verify.journal import Journal, PhaseName
from verify.recovery import Recovery, find_recovery
from verify.slo import AlarmRule, Slo
from verify.windows import WindowStats, index_series, window_stats

# Used only when a journal does not say how long the SLO must hold to count as recovered.
DEFAULT_SUSTAINED_S = 60.0


def fault_time(journal: Journal) -> float | None:
    if journal.fault_at is not None:
        return journal.fault_at
    injected = [f.injected_at for f in journal.faults if f.injected_at is not None]
    return min(injected) if injected else None


def judged_slo(journal: Journal, slo: Slo | None = None) -> Slo:
    return slo or journal.slo or Slo()


def judged_rule(journal: Journal, rule: AlarmRule | None = None) -> AlarmRule:
    """The alarm rule as given: its period is already scaled (like DrillPlan.detection)."""
    if rule or journal.alarm:
        return rule or journal.alarm  # type: ignore[return-value]
    default = AlarmRule()
    return default.model_copy(update={"period_s": default.period_s * journal.time_scale})


def sustained_s(journal: Journal) -> float:
    return journal.sustained_s if journal.sustained_s is not None else DEFAULT_SUSTAINED_S * journal.time_scale


@dataclass(frozen=True)
class DrillTimings:
    fault_at: float | None
    detection: Detection | None
    not_detected: str  # why detection is missing ("" when detected or no fault)
    recovery: Recovery | None
    not_recovered: str  # why recovery is missing ("" when recovered or no fault)

    @property
    def detected_at(self) -> float | None:
        return self.detection.detected_at if self.detection else None

    @property
    def detection_s(self) -> float | None:
        return self.detection.detection_s if self.detection else None

    @property
    def recovered_at(self) -> float | None:
        return self.recovery.recovered_at if self.recovery else None

    @property
    def recovery_s(self) -> float | None:
        return self.recovery.recovery_s if self.recovery else None


def drill_timings(journal: Journal, slo: Slo | None = None, rule: AlarmRule | None = None) -> DrillTimings:
    """Detection and recovery measured on the journal's series, exactly as the live trackers do."""
    fault_at = fault_time(journal)
    if fault_at is None:
        return DrillTimings(None, None, "", None, "")
    detector = detect(journal.series, judged_rule(journal, rule), fault_at)
    tracker = find_recovery(journal.series, judged_slo(journal, slo), fault_at, sustained_s(journal))
    return DrillTimings(
        fault_at=fault_at,
        detection=detector.detection,
        not_detected="" if detector.detection else detector.never_fired_reason(),
        recovery=tracker.recovery,
        not_recovered="" if tracker.recovery else tracker.never_recovered_reason(),
    )


@dataclass(frozen=True)
class DrillWindows:
    baseline: WindowStats
    during_fault: WindowStats | None  # None: no fault was injected
    after_recovery: WindowStats | None  # None: no fault, or it never recovered
    whole: WindowStats

    def all(self) -> list[WindowStats]:
        return [w for w in (self.baseline, self.during_fault, self.after_recovery, self.whole) if w is not None]


def load_span(journal: Journal) -> tuple[int, int]:
    """`[first, end)` seconds judged: from the baseline phase (or the first sample) to the last sample."""
    if not journal.series:
        return 0, 0
    times = [s.t for s in journal.series]
    start, end = min(times), max(times) + 1
    baseline = journal.phase(PhaseName.BASELINE)
    if baseline is not None:
        start = min(max(start, math.ceil(baseline.started_at)), end)
    return start, end


def drill_windows(journal: Journal, slo: Slo | None = None, timings: DrillTimings | None = None) -> DrillWindows:
    slo = judged_slo(journal, slo)
    timings = timings or drill_timings(journal, slo)
    by_t = index_series(journal.series)
    start, end = load_span(journal)
    whole = window_stats(by_t, slo, start, end, "whole drill")
    if timings.fault_at is None:
        return DrillWindows(window_stats(by_t, slo, start, end, "baseline"), None, None, whole)
    fault_second = min(max(math.floor(timings.fault_at), start), end)
    recovered = end if timings.recovered_at is None else min(max(int(timings.recovered_at), fault_second), end)
    baseline = window_stats(by_t, slo, start, fault_second, "baseline")
    during = window_stats(by_t, slo, fault_second, recovered, "during fault")
    after = None if timings.recovery is None else window_stats(by_t, slo, recovered, end, "after recovery")
    return DrillWindows(baseline, during, after, whole)
