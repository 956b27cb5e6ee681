"""detection: the alarm went to ALARM after the fault (and was not already firing before it).

The record's value is the alarm time (seconds after the fault): when the on-call is paged. Its detail
also gives the first bad second the load saw, and, when the target's own alarm paged, what the rule's
model would have said.
"""

from __future__ import annotations

from verify.checks.base import Check, CheckContext, Needs
from verify.drill import DrillTimings
from verify.journal import CheckRecord


def _first_bad(t: DrillTimings) -> str:
    if t.first_bad_s is None:
        return "no second after the fault breached the alarm's thresholds"
    return f"first bad second +{t.first_bad_s:,.1f} s ({t.first_bad_reason})"


def _judge(ctx: CheckContext) -> CheckRecord:
    name, t = DETECTION.name, ctx.timings
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, detail="no fault was injected")
    if t.detection is None:
        return CheckRecord(name=name, passed=False, unit="s", detail=f"{t.not_detected}; {_first_bad(t)}")
    d = t.detection
    detail = f"{_first_bad(t)}; alarm +{d.detection_s:,.1f} s ({d.by}: {d.reason})"
    model = t.model_detection
    if model is not None and model.by != d.by:
        detail += f"; the {model.by} would have paged at +{model.detection_s:,.1f} s"
    if d.alarming_before_fault:
        detail = "the alarm was already firing before the fault (baseline not steady); " + detail
    return CheckRecord(
        name=name, passed=not d.alarming_before_fault, value=round(d.detection_s, 3), unit="s", detail=detail,
    )


DETECTION = Check("detection", "the alarm went to ALARM after the fault", _judge, Needs(fault=True))
