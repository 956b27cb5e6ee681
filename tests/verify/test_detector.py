import pytest

from verify.detector import Detector, detect
from verify.slo import AlarmRule
from verify.synthetic import Segment, SeriesSpec, build_second, build_series

T0 = 1_700_000_000
RULE = AlarmRule()  # error rate > 5 % or p90 > 1,000 ms over 300 s


def _outage_series(**segment):
    return build_series(SeriesSpec(T0, 90, rps=100, segments=[Segment(60, 72, **segment)]))


def test_error_alarm_over_the_full_period_fires_when_the_trailing_rate_crosses_5_percent():
    # 60 s of clean baseline then 100 % errors: after k bad seconds the 300 s rate is k/(60+k), > 5 % at k = 4
    detector = detect(_outage_series(error_rate=1.0), RULE, fault_at=T0 + 60, time_scale=1.0)
    assert detector.detection is not None
    assert detector.detection.detection_s == 4
    assert "error rate" in detector.detection.reason
    assert not detector.detection.alarming_before_fault


def test_period_is_scaled_and_never_below_one_second():
    # scaled to 15 s: one bad second (100 of 1,500 requests = 6.7 %) is enough
    scaled = detect(_outage_series(error_rate=1.0), RULE, T0 + 60, time_scale=0.05)
    assert scaled.period_s == 15 and scaled.detection.detection_s == 1
    assert Detector(RULE, T0, time_scale=0.0001).period_s == 1


def test_latency_alarm_uses_p90_of_the_period():
    detector = detect(_outage_series(low_ms=1500, high_ms=2500), RULE, T0 + 60, time_scale=0.05)
    assert detector.detection is not None and "p90" in detector.detection.reason
    # 15 s period, 100 rps: p90 crosses 1 s once more than 10 % of the period is slow: 2 seconds
    assert detector.detection.detection_s == 2


def test_no_traffic_breaches():
    spec = SeriesSpec(T0, 60, rps=100, missing=set(range(30, 60)))
    series = build_series(spec) + [build_second(T0 + 60, 0)]
    detector = detect(series, RULE, T0 + 30, time_scale=0.01)  # period 3 s
    assert detector.detection is not None
    assert detector.detection.detection_s == 3 and "no requests" in detector.detection.reason


def test_a_fault_the_alarm_cannot_see_is_not_detected_and_says_why():
    detector = detect(_outage_series(error_rate=0.03), RULE, T0 + 60, time_scale=0.05)
    assert detector.detection is None
    assert "never fired" in detector.never_fired_reason() and "2.4%" in detector.never_fired_reason()


def test_an_alarm_already_firing_before_the_fault_is_flagged():
    series = build_series(SeriesSpec(T0, 40, segments=[Segment(0, 40, error_rate=0.5)]))
    detector = detect(series, RULE, T0 + 20, time_scale=0.05)
    assert detector.detection.alarming_before_fault


def test_live_feeding_agrees_with_the_whole_series():
    series = _outage_series(error_rate=0.2)
    live = Detector(RULE, T0 + 60.4, time_scale=0.05)
    fired = [live.observe(s) for s in series]
    first = next(d for d in fired if d is not None)
    assert first == detect(series, RULE, T0 + 60.4, 0.05).detection
    assert first.detected_at >= T0 + 60.4


def test_out_of_order_samples_are_rejected():
    detector = Detector(RULE, T0)
    detector.observe(build_second(T0 + 5, 10))
    with pytest.raises(ValueError, match="time order"):
        detector.observe(build_second(T0 + 5, 10))
