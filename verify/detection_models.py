"""The detection model a rule names (`detection.model`): `cloudwatch` (the default) or `trailing`."""

from __future__ import annotations

from collections.abc import Iterable

from loadtests.records import SecondSample
from verify.alarm import CloudWatchAlarmModel
from verify.detection import DetectionModel
from verify.detector import Detector
from verify.slo import AlarmRule, DetectionModelName


def detection_model(rule: AlarmRule, fault_at: float) -> DetectionModel:
    """A fresh model for `rule`, whose seconds are already scaled (a plan's, or a journal's)."""
    if rule.model is DetectionModelName.TRAILING:
        return Detector(rule, fault_at)
    return CloudWatchAlarmModel(rule, fault_at)


def run_detection(series: Iterable[SecondSample], rule: AlarmRule, fault_at: float) -> DetectionModel:
    """Run the rule's model over a whole series (sorted by time); read `.detection` from the result."""
    model = detection_model(rule, fault_at)
    for sample in sorted(series, key=lambda s: s.t):
        if model.observe(sample) is not None:
            break
    return model
