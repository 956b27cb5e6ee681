"""detection: the detection rule fired after the fault (and was not already firing before it)."""

from __future__ import annotations

from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord


def _judge(ctx: CheckContext) -> CheckRecord:
    name, t = DETECTION.name, ctx.timings
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, detail="no fault was injected")
    if t.detection is None:
        return CheckRecord(name=name, passed=False, unit="s", detail=t.not_detected)
    detail = f"alarm fired {t.detection.detection_s:.1f} s after the fault: {t.detection.reason}"
    if t.detection.alarming_before_fault:
        detail = "the alarm was already firing before the fault (baseline not steady); " + detail
    return CheckRecord(
        name=name, passed=not t.detection.alarming_before_fault,
        value=round(t.detection.detection_s, 3), unit="s", detail=detail,
    )


DETECTION = Check("detection", "the detection rule fired after the fault", _judge, Needs(fault=True))
