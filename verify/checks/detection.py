"""detection: the alarm went to ALARM after the fault (and was not already firing before it).

The record's value is the alarm time (seconds after the fault): when the on-call is paged. Its detail
also gives the first bad second the load saw, and, when the target's own alarm paged, what the rule's
model would have said.
"""

from __future__ import annotations

from common.messages import gettext as _
from verify.checks.base import Check, CheckContext, Needs
from verify.drill import DrillTimings, detector_title
from verify.journal import CheckRecord


def _first_bad(t: DrillTimings) -> str:
    if t.first_bad_s is None:
        return _("no second after the fault breached the alarm's thresholds")
    return _("first bad second +{seconds:,.1f} s ({reason})").format(seconds=t.first_bad_s, reason=t.first_bad_reason)


def _judge(ctx: CheckContext) -> CheckRecord:
    name, t = DETECTION.name, ctx.timings
    if t.fault_at is None:
        return CheckRecord(name=name, passed=False, detail=_("no fault was injected"))
    if t.detection is None:
        return CheckRecord(name=name, passed=False, unit="s", detail=f"{t.not_detected}; {_first_bad(t)}")
    d = t.detection
    detail = _("{first_bad}; alarm +{seconds:,.1f} s ({by}: {reason})").format(
        first_bad=_first_bad(t), seconds=d.detection_s, by=detector_title(d.by), reason=d.reason)
    model = t.model_detection
    if model is not None and model.by != d.by:
        detail += "; " + _("the {by} would have paged at +{seconds:,.1f} s").format(
            by=detector_title(model.by), seconds=model.detection_s)
    if d.alarming_before_fault:
        detail = _("the alarm was already firing before the fault (baseline not steady); ") + detail
    return CheckRecord(
        name=name, passed=not d.alarming_before_fault, value=round(d.detection_s, 3), unit="s", detail=detail,
    )


DETECTION = Check("detection", "the alarm went to ALARM after the fault", _judge, Needs(fault=True))
