import pytest

from verify.recovery import RecoveryTracker, find_recovery
from verify.slo import Slo
from verify.synthetic import Segment, SeriesSpec, build_series

T0 = 1_700_000_000
SLO = Slo()


def test_outage_from_20_to_31_recovers_in_11_seconds():
    series = build_series(SeriesSpec(T0, 60, segments=[Segment(20, 31, error_rate=1.0)]))
    tracker = find_recovery(series, SLO, fault_at=T0 + 20, sustained_s=10)
    assert tracker.recovery is not None
    assert tracker.recovery.recovery_s == pytest.approx(11, abs=1)
    assert tracker.recovery.confirmed_at == T0 + 31 + 10
    assert tracker.unhealthy_seconds == 11


def test_fault_mid_second_is_measured_from_the_injection_time():
    series = build_series(SeriesSpec(T0, 60, segments=[Segment(20, 31, low_ms=400, high_ms=900)]))
    tracker = find_recovery(series, SLO, fault_at=T0 + 20.4, sustained_s=5)
    assert tracker.recovery.recovery_s == pytest.approx(10.6)


def test_no_recovery_gives_the_reason():
    series = build_series(SeriesSpec(T0, 60, segments=[Segment(20, 60, error_rate=0.5)]))
    tracker = find_recovery(series, SLO, T0 + 20, sustained_s=10)
    assert tracker.recovery is None
    reason = tracker.never_recovered_reason()
    assert "never recovered" in reason and "error rate 50.0%" in reason and "40 of 40" in reason


def test_flapping_only_recovers_after_a_full_sustained_run():
    # healthy runs of 3 s between bad seconds, then a clean 8 s run from +34
    bad = [Segment(s, s + 1, error_rate=1.0) for s in (20, 24, 28, 33)]
    series = build_series(SeriesSpec(T0, 60, segments=bad))
    tracker = find_recovery(series, SLO, T0 + 20, sustained_s=5)
    assert tracker.recovery.recovered_at == T0 + 34
    assert tracker.unhealthy_seconds == 4


def test_zero_traffic_after_the_fault_is_not_healthy():
    series = build_series(SeriesSpec(T0, 60, missing=set(range(20, 35))))
    tracker = find_recovery(series, SLO, T0 + 20, sustained_s=5)
    assert tracker.recovery.recovered_at == T0 + 35


def test_zero_traffic_until_the_end_never_recovers():
    series = build_series(SeriesSpec(T0, 20))
    assert find_recovery(series, SLO, T0 + 25, sustained_s=5).never_recovered_reason() == (
        "no load was measured after the fault"
    )


def test_live_tracker_agrees_with_the_pure_function():
    series = build_series(SeriesSpec(T0, 60, segments=[Segment(20, 31, error_rate=1.0)], jitter=0.2))
    live = RecoveryTracker(SLO, T0 + 20, 10)
    results = [live.observe(s) for s in series]
    assert next(r for r in results if r) == find_recovery(series, SLO, T0 + 20, 10).recovery
