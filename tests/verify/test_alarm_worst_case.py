"""`plan`'s earliest and latest detection: the model run over every fault offset, checked against hand sums."""

from __future__ import annotations

import pytest

from verify.alarm_worst_case import detection_bounds
from verify.slo import AlarmRule, DetectionModelName, TreatMissingData

MANUAL = AlarmRule()
ROLLBACK = AlarmRule(period_s=60, latency_ms_above=None, treat_missing_data=TreatMissingData.BREACHING)


@pytest.mark.parametrize(
    ("rule", "error_rate", "earliest", "latest"),
    [
        # 300 s periods read 60 s late, on the minute. A total outage at offset o < 285 s breaches its own
        # period (more than 5 % of it failed): read at 360, so 360 - o, earliest at o = 284: 76 s. From
        # o = 285 the next period is read at 660: 660 - 285 = 375 s, the latest.
        (MANUAL, 1.0, 76, 375),
        # 6 % errors breach the fault's own period only while 6 % x (300 - o)/300 > 5 %: o < 50, so
        # 360 - 49 = 311 at the earliest; from o = 50 the next period: 660 - 50 = 610 at the latest.
        (MANUAL, 0.06, 311, 610),
        # The smoke profile (x 0.05): 15 s periods, 3 s late, every 3 s: 18 - o for o = 0..14.
        (MANUAL.scaled(0.05), 1.0, 4, 18),
        # A 60 s rollback alarm: 120 - o while o < 57 (earliest 64), then 180 - 57 = 123.
        (ROLLBACK, 1.0, 64, 123),
        (ROLLBACK.scaled(0.05), 1.0, 4, 6),  # 3 s periods: 6 - o for o = 0..2
    ],
)
def test_bounds_match_the_hand_computed_ones(rule: AlarmRule, error_rate: float, earliest: int, latest: int) -> None:
    bounds = detection_bounds(rule, error_rate)
    assert (bounds.earliest_s, bounds.latest_s) == (earliest, latest)
    assert bounds.offsets == rule.whole_period_s and bounds.always_fires
    assert bounds.text().startswith("+") and " to +" in bounds.text()


def test_the_bounds_read_as_durations() -> None:
    assert detection_bounds(MANUAL, 1.0).text() == "+1m16s to +6m15s"


def test_the_trailing_model_answers_in_seconds() -> None:
    # A trailing 300 s window fed healthy seconds: k failed seconds out of 300 pass 5 % at k = 16, any offset.
    trailing = MANUAL.model_copy(update={"model": DetectionModelName.TRAILING})
    bounds = detection_bounds(trailing, 1.0)
    assert (bounds.earliest_s, bounds.latest_s) == (16, 16)


def test_an_error_rate_under_the_threshold_never_fires() -> None:
    bounds = detection_bounds(MANUAL.scaled(0.05), 0.04)
    assert bounds.earliest_s is None and bounds.never == 15 and not bounds.always_fires
    assert bounds.text().startswith("never within")


def test_a_rule_without_an_error_rate_alarm_is_refused() -> None:
    with pytest.raises(ValueError, match="no error-rate alarm"):
        detection_bounds(MANUAL.model_copy(update={"error_rate_above": None}), 1.0)
