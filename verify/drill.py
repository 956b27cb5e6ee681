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

from common.messages import gettext as _
from verify.detection import Detection, first_bad_second
from verify.detection_models import run_detection
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
    """The alarm rule as given: its waits are already scaled (like DrillPlan.detection)."""
    if rule or journal.alarm:
        return rule or journal.alarm  # type: ignore[return-value]
    return AlarmRule().scaled(journal.time_scale)


def sustained_s(journal: Journal) -> float:
    return journal.sustained_s if journal.sustained_s is not None else DEFAULT_SUSTAINED_S * journal.time_scale


@dataclass(frozen=True)
class DrillTimings:
    fault_at: float | None
    detection: Detection | None  # the alarm that paged: the target's own when it names alarms, else the model's
    not_detected: str  # why detection is missing ("" when detected or no fault)
    recovery: Recovery | None
    not_recovered: str  # why recovery is missing ("" when recovered or no fault)
    first_bad_at: float | None = None  # the first whole second after the fault that breached the alarm's thresholds
    first_bad_reason: str = ""
    model_detection: Detection | None = None  # the rule's model, beside the target's alarm when it has one

    @property
    def first_bad_s(self) -> float | None:
        return None if self.first_bad_at is None or self.fault_at is None else self.first_bad_at - self.fault_at

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
    """Detection and recovery measured on the journal's series, exactly as the live trackers do.

    When the target named its own alarms (`journal.alarm_times`), detection is the first of them to go
    to ALARM, as the drill's remediation saw it; the rule's model is kept beside it for comparison."""
    fault_at = fault_time(journal)
    if fault_at is None:
        return DrillTimings(None, None, "", None, "")
    rule = judged_rule(journal, rule)
    model = run_detection(journal.series, rule, fault_at)
    first_bad = first_bad_second(journal.series, rule, fault_at)
    tracker = find_recovery(journal.series, judged_slo(journal, slo), fault_at, sustained_s(journal))
    detection, not_detected = model.detection, "" if model.detection else model.never_fired_reason()
    if journal.alarm_times:
        detection, not_detected = _target_alarm(journal.alarm_times, fault_at)
    return DrillTimings(
        fault_at=fault_at,
        detection=detection,
        not_detected=not_detected,
        recovery=tracker.recovery,
        not_recovered="" if tracker.recovery else tracker.never_recovered_reason(),
        first_bad_at=first_bad.first_bad_at,
        first_bad_reason=first_bad.reason,
        model_detection=model.detection,
    )


def _target_alarm(alarm_times: dict[str, float | None], fault_at: float) -> tuple[Detection | None, str]:
    fired = {name: at for name, at in alarm_times.items() if at is not None}
    if not fired:
        return None, _("none of the target's alarms ({names}) went to ALARM after the fault").format(
            names=", ".join(alarm_times))
    name = min(fired, key=lambda n: fired[n])
    by = f"{TARGET_ALARM_PREFIX}{name}"  # a record's value (journal, history, junit): never translated
    reason = _("{by} went to ALARM (the target's own alarm)").format(by=detector_title(by))
    return Detection(fault_at, fired[name], reason, False, by), ""


TARGET_ALARM_PREFIX = "alarm "


def detector_title(by: str) -> str:
    """What raised the alarm, as people read it. `by` is recorded as the models' names ("cloudwatch model",
    "trailing model") or "alarm NAME" (the target's own), in English: journal, history and junit keep it."""
    if by == "cloudwatch model":
        return _("cloudwatch model")
    if by == "trailing model":
        return _("trailing model")
    if by.startswith(TARGET_ALARM_PREFIX):
        return _("alarm {name}").format(name=by.removeprefix(TARGET_ALARM_PREFIX))
    return by


def window_title(name: str) -> str:
    """A window's name as people read it (`WindowStats.name` stays the English key)."""
    titles = {"baseline": _("baseline"), "during fault": _("during fault"), "after recovery": _("after recovery"),
              "whole drill": _("whole drill")}
    return titles.get(name, name)


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
