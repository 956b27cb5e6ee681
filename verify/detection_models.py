"""The detection model a rule names (`detection.model`): `cloudwatch` (the default) or `trailing`."""

from __future__ import annotations

from collections.abc import Iterable

from loadtests.records import SecondSample
from verify.alarm import CloudWatchAlarmModel
from verify.alarm_eval import evaluation_range
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


def detection_horizon_s(rule: AlarmRule) -> float:
    """How long after a fault the rule's alarm may still go to ALARM for it (a drill waits that long before
    calling it silent): the evaluation range of periods plus one, the metric delay and an evaluation
    interval (cloudwatch: a missing-data alarm fires only once its range has emptied); the trailing period."""
    if rule.model is DetectionModelName.TRAILING:
        return rule.whole_period_s + 1.0
    periods = evaluation_range(rule.evaluation_periods) + 1
    return periods * rule.whole_period_s + rule.metric_delay_s + rule.interval_s
