"""CloudWatch's documented alarm evaluations, cell by cell ("Configuring how CloudWatch alarms treat missing
data", CloudWatch User Guide), each twice: on the datapoints alone, and on a synthetic per-second series whose
clock-aligned periods are those datapoints, through the cloudwatch model (verify.alarm).

Notation of the tables: oldest datapoint first, `0` not breaching, `X` breaching, `-` missing. "Retain" is
"Retain current state": checked from both an OK and an ALARM state.
"""

from __future__ import annotations

import pytest

from verify.alarm import CloudWatchAlarmModel
from verify.alarm_eval import AlarmState, evaluate_alarm
from verify.slo import AlarmRule, TreatMissingData
from verify.synthetic import pattern_series

OK, ALARM, INSUFFICIENT, RETAIN = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA, "retain"
TREATMENTS = (TreatMissingData.MISSING, TreatMissingData.IGNORE, TreatMissingData.BREACHING,
              TreatMissingData.NOT_BREACHING)

# (data points, N, M, MISSING, IGNORE, BREACHING, NOT BREACHING)
TABLE_3_OF_3 = [  # the first table: Datapoints to Alarm and Evaluation Periods both 3
    ("0 - X - X", 3, 3, OK, OK, OK, OK),
    ("0 - - - -", 3, 3, OK, OK, OK, OK),
    ("- - - - -", 3, 3, INSUFFICIENT, RETAIN, ALARM, OK),
    ("0 X X - X", 3, 3, ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", 3, 3, ALARM, RETAIN, ALARM, OK),  # the "premature alarm state" row
]
TABLE_2_OF_3 = [  # the second table: a 2 out of 3, M out of N alarm
    ("0 - X - X", 3, 2, ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", 3, 2, ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", 3, 2, OK, OK, ALARM, OK),
    ("- - - - 0", 3, 2, OK, OK, ALARM, OK),
    ("- - - X -", 3, 2, ALARM, RETAIN, ALARM, OK),  # premature alarm state, M out of N
]
OLDER_EDITION = [  # rows only the older edition of the page has
    ("- - - - X", 3, 3, INSUFFICIENT, RETAIN, ALARM, OK),
    ("X - - - -", 3, 3, ALARM, RETAIN, ALARM, OK),
    ("- - - - X", 3, 2, INSUFFICIENT, RETAIN, ALARM, OK),
]
CELLS = [
    pytest.param(points, n, m, treatment, expected, id=f"{points}|{m}of{n}|{treatment.value}")
    for points, n, m, *states in TABLE_3_OF_3 + TABLE_2_OF_3 + OLDER_EDITION
    for treatment, expected in zip(TREATMENTS, states)
]


def parse(points: str) -> list[bool | None]:
    return [{"0": False, "X": True, "-": None}[mark] for mark in points.split()]


@pytest.mark.parametrize(("points", "n", "m", "treatment", "expected"), CELLS)
@pytest.mark.parametrize("current", [OK, ALARM])
def test_documented_cell_on_the_datapoints(points, n, m, treatment, expected, current) -> None:
    state = evaluate_alarm(parse(points), n, m, treatment, current)
    assert state is (current if expected == RETAIN else expected)


# ---- the same cells on per-second samples, through the time model ----------------------------------------

T0 = 1_700_000_000  # a multiple of the 10 s period: each mark of a pattern is one clock-aligned period
PERIOD = 10


def rule(n: int, m: int, treatment: TreatMissingData) -> AlarmRule:
    # No metric delay and one evaluation per period: the evaluation at the end of the last period sees
    # exactly the five periods of the pattern as its evaluation range.
    return AlarmRule(period_s=PERIOD, evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=treatment,
                     metric_delay_s=0, evaluation_interval_s=PERIOD, latency_ms_above=None)


def final_state(prefix: str, points: str, n: int, m: int, treatment: TreatMissingData) -> AlarmState:
    series = pattern_series(T0, PERIOD, prefix + points)
    model = CloudWatchAlarmModel(rule(n, m, treatment), fault_at=T0)
    for sample in series:
        model.observe(sample)
    (alarm,) = model.alarms
    last = alarm.history[-1]
    assert last.at == T0 + PERIOD * len((prefix + points).split())  # evaluated at the end of the pattern
    assert last.datapoints == points  # and saw the pattern as its evaluation range
    return last.state


@pytest.mark.parametrize(("points", "n", "m", "treatment", "expected"), CELLS)
def test_documented_cell_on_a_per_second_series(points, n, m, treatment, expected) -> None:
    # Five healthy periods first (state OK), or five failing ones (state ALARM): a retained state shows.
    after_ok = final_state("0 0 0 0 0 ", points, n, m, treatment)
    after_alarm = final_state("X X X X X ", points, n, m, treatment)
    if expected == RETAIN:
        assert (after_ok, after_alarm) == (OK, ALARM)
    else:
        assert after_ok is expected and after_alarm is expected


def test_the_documented_figure_three_of_three() -> None:
    """"Evaluating an alarm": N = M = 3; breaching in periods 1-5, below at 6, one breach at 9. The alarm
    goes to ALARM in the third through fifth periods, to OK at the sixth, and stays OK at the ninth."""
    series = pattern_series(T0, PERIOD, "X X X X X 0 0 0 X 0")
    model = CloudWatchAlarmModel(rule(3, 3, TreatMissingData.MISSING), fault_at=T0)
    for sample in series:
        model.observe(sample)
    (alarm,) = model.alarms
    after_period = [e.state for e in alarm.history]  # once each period has ended (none before the series)
    assert after_period == [INSUFFICIENT, INSUFFICIENT, ALARM, ALARM, ALARM, OK, OK, OK, OK, OK]


def test_m_out_of_n_need_not_be_consecutive() -> None:
    # 2 of 3: X 0 X within the last three periods is enough; X 0 0 X is not.
    assert evaluate_alarm(parse("0 0 X 0 X"), 3, 2, TreatMissingData.MISSING) is ALARM
    assert evaluate_alarm(parse("0 X 0 0 X"), 3, 2, TreatMissingData.MISSING) is OK


def test_datapoints_to_alarm_above_evaluation_periods_is_refused() -> None:
    with pytest.raises(ValueError, match="datapoints_to_alarm"):
        evaluate_alarm(parse("X X X"), 2, 3, TreatMissingData.MISSING)
    with pytest.raises(ValueError, match="cannot exceed evaluation_periods"):
        AlarmRule(evaluation_periods=2, datapoints_to_alarm=3)
