"""The cloudwatch detection model in time: clock-aligned periods, the evaluation cadence, the metric delay.

Every expected time is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import pytest

from loadtests.records import SecondSample, new_histogram
from verify.alarm import CloudWatchAlarmModel, period_error_rates
from verify.detection import first_bad_second
from verify.detection_models import detection_model, run_detection
from verify.slo import AlarmRule, DetectionModelName, LatencyStatistic, TreatMissingData
from verify.synthetic import build_second, fault_series

MANUAL = AlarmRule()  # error rate > 5 % or p90 > 1,000 ms, 1 of 1 datapoints of 300 s, metrics 60 s late
BASE = 1_700_000_100  # a multiple of 300 s (and so of the 60 s cadence)


def outage(offset: float, rule: AlarmRule = MANUAL, error_rate: float = 1.0, seconds: int = 1500):
    fault_at = BASE + offset
    series = fault_series(BASE - 900, seconds + 900, fault_at, error_rate=error_rate, latencies=False)
    return run_detection(series, rule, fault_at)


@pytest.mark.parametrize(
    ("offset", "expected_s"),
    [
        # The fault's period [0, 300) breaches when more than 5 % of it failed: faults before +285 s. Its
        # datapoint is readable at 300 + 60 = 360, itself a minute boundary: the alarm fires at 360.
        (0, 360.0),
        (100, 260.0),
        (284, 76.0),  # 16 of 300 s failed: 5.3 % > 5 %
        # From +285 s the fault's period stays under 5 %; the next period, wholly failed, is read at 660.
        (285, 375.0),
        (299, 361.0),
        (120.5, 239.5),  # a fault mid-second: 360 - 120.5
    ],
)
def test_a_total_outage_pages_when_the_period_lands(offset: float, expected_s: float) -> None:
    model = outage(offset)
    assert model.detection is not None
    assert model.detection.detection_s == pytest.approx(expected_s)
    assert model.detection.detected_at % 60 == 0  # evaluations happen on the minute
    assert "error rate 100.0% > 5.0%" in model.detection.reason or "error rate" in model.detection.reason


def test_the_metric_delay_holds_back_the_evaluation() -> None:
    # Same outage at +0 with metrics readable 120 s after their period: 300 + 120 = 420.
    late = MANUAL.model_copy(update={"metric_delay_s": 120.0})
    assert outage(0, late).detection.detection_s == 420.0
    # Without delay the datapoint is read at the period's end: 300.
    at_once = MANUAL.model_copy(update={"metric_delay_s": 0.0})
    assert outage(0, at_once).detection.detection_s == 300.0


def test_the_evaluation_cadence_rounds_up_to_the_next_evaluation() -> None:
    # Metrics 30 s late: the period [0, 300) is readable at 330, evaluated on the next minute, 360.
    delayed = MANUAL.model_copy(update={"metric_delay_s": 30.0})
    assert outage(0, delayed).detection.detection_s == 360.0


def test_the_smoke_profile_scales_period_delay_and_cadence() -> None:
    smoke = MANUAL.scaled(0.05)  # 15 s period, 3 s delay, evaluated every 3 s
    assert (smoke.whole_period_s, smoke.metric_delay_s, smoke.interval_s) == (15, 3.0, 3.0)
    # Fault at +4 s of a 15 s period: 11 of 15 s failed; readable at 15 + 3 = 18, a multiple of 3.
    assert outage(4, smoke).detection.detection_s == 14.0


def test_a_period_under_a_minute_is_evaluated_once_per_period() -> None:
    fast = AlarmRule(period_s=10, metric_delay_s=0)
    assert fast.interval_s == 10
    # Fault at +3 s: the period [0, 10) has 70 % errors, read at 10.
    assert outage(3, fast).detection.detection_s == 7.0


def test_six_percent_errors_page_only_once_a_period_carries_them() -> None:
    # 6 % errors from +100 s: the fault's period averages 6 % x 200/300 = 4 %, not > 5 %; the next
    # period (6 %) is read at 660: 560 s after the fault.
    assert outage(100, error_rate=0.06).detection.detection_s == 560.0
    # From +40 s: 6 % x 260/300 = 5.2 % > 5 %: read at 360.
    assert outage(40, error_rate=0.06).detection.detection_s == 320.0


def test_an_outage_without_traffic_is_missing_data() -> None:
    # No requests at all from the fault (a dead endpoint refusing before the load counts a request).
    series = [s if s.t < BASE else SecondSample(t=s.t) for s in fault_series(BASE - 900, 2400, BASE, latencies=False)]
    errors_only = MANUAL.model_copy(update={"latency_ms_above": None})  # the series carries no latencies
    missing = run_detection(series, errors_only, BASE)
    assert missing.detection is None  # missing data: INSUFFICIENT_DATA, never ALARM
    assert "never went to ALARM" in missing.never_fired_reason()
    breaching = run_detection(series, errors_only.model_copy(update={"treat_missing_data": TreatMissingData.BREACHING}), BASE)
    # Treating missing data as breaching does not page at the first empty period: while the evaluation
    # range (N + 2 = 3 periods) still holds a real datapoint, CloudWatch evaluates the most recent real one
    # (OK) and ignores the treatment. The range is empty only once [0, 300), [300, 600) and [600, 900) are
    # all in it: read at 900 + 60 = 960.
    assert breaching.detection is not None and breaching.detection.detection_s == 960.0
    assert not breaching.detection.alarming_before_fault and "data missing" in breaching.detection.reason


def _slow_tail_second(t: int) -> SecondSample:
    """100 requests: 95 at 20 ms, 5 at 2.5 s (p90 20 ms, p99 2.5 s)."""
    hist = new_histogram()
    hist.record_value(20_000, 95)
    hist.record_value(2_500_000, 5)
    return SecondSample(t=t, requests=100, histogram=hist.encode())


def test_the_latency_alarm_uses_the_rule_statistic() -> None:
    series = [build_second(t, 100, low_ms=10, high_ms=60) for t in range(BASE - 600, BASE)]
    series += [_slow_tail_second(t) for t in range(BASE, BASE + 700)]
    by_p90 = run_detection(series, MANUAL, BASE)
    by_p99 = run_detection(series, MANUAL.model_copy(update={"latency_statistic": LatencyStatistic.P99}), BASE)
    assert by_p90.detection is None  # p90 20 ms
    # p99 2.5 s from the fault's period [0, 300) on: read at 360.
    assert by_p99.detection is not None and by_p99.detection.detection_s == 360.0
    assert by_p99.detection.reason.startswith("p99 2,50") and "> 1,000 ms: 0 0 X" in by_p99.detection.reason


def test_an_alarm_in_alarm_before_the_fault_is_flagged() -> None:
    series = fault_series(BASE - 900, 1500, BASE - 900, error_rate=0.5, latencies=False)  # failing throughout
    model = run_detection(series, MANUAL, BASE)
    assert model.detection is not None and model.detection.alarming_before_fault


def test_live_feeding_agrees_with_the_whole_series() -> None:
    series = fault_series(BASE - 900, 1500, BASE + 42.5, latencies=False)
    live = detection_model(MANUAL, BASE + 42.5)
    fired = next(d for d in (live.observe(s) for s in series) if d is not None)
    assert fired == run_detection(series, MANUAL, BASE + 42.5).detection
    assert fired.by == "cloudwatch model"


def test_the_trailing_model_is_still_there() -> None:
    trailing = MANUAL.model_copy(update={"model": DetectionModelName.TRAILING})
    model = outage(0, trailing)
    # 900 healthy seconds before: after k failed seconds the trailing 300 s error rate is k/300 > 5 % at k = 16.
    assert model.detection.by == "trailing model" and model.detection.detection_s == 16.0


def test_first_bad_second_is_the_first_whole_second_after_the_fault() -> None:
    series = fault_series(BASE - 60, 120, BASE + 10.5, latencies=False)
    tracker = first_bad_second(series, MANUAL, BASE + 10.5)
    assert tracker.first_bad_at == BASE + 11 and tracker.first_bad_s == 0.5
    assert "error rate 100.0%" in tracker.reason


def test_period_error_rates_are_clock_aligned() -> None:
    series = fault_series(BASE - 300, 900, BASE + 150, latencies=False)
    assert period_error_rates(series, 300) == [(BASE - 300, 0.0), (BASE, 0.5), (BASE + 300, 1.0)]


def test_out_of_order_samples_are_rejected() -> None:
    model = CloudWatchAlarmModel(MANUAL, BASE)
    model.observe(SecondSample(t=BASE))
    with pytest.raises(ValueError, match="time order"):
        model.observe(SecondSample(t=BASE))


def test_no_metric_before_the_load_is_no_outage() -> None:
    # A smoke drill: 3 s periods read 3 s late, missing data breaching, the load 5 s old at the fault. The
    # periods before the load's first second are not in the evaluation range: no ALARM before the fault.
    rollback = AlarmRule(period_s=60, latency_ms_above=None, treat_missing_data=TreatMissingData.BREACHING)
    smoke = rollback.scaled(0.05)
    series = fault_series(BASE - 5, 30, BASE + 1.0, latencies=False)
    model = run_detection(series, smoke, BASE + 1.0)
    assert model.detection is not None and not model.detection.alarming_before_fault
    # The fault's period [BASE, BASE + 3) has 2 of 3 s failed; read at BASE + 6, an evaluation (every 3 s).
    assert model.detection.detection_s == 5.0
    assert all(e.datapoints.count(" ") < 2 for e in model.alarms[0].history[:1])  # the first range: one period
