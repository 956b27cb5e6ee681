import pytest

from verify.slo import Slo
from verify.synthetic import build_second
from verify.windows import second_health, window_stats

SLO = Slo()


def test_window_percentiles_come_from_merged_histograms_not_averages():
    series = [build_second(100, 100, low_ms=10, high_ms=10), build_second(101, 100, low_ms=1000, high_ms=1000)]
    stats = window_stats(series, SLO, 100, 102)
    # averaging the per-second p90s would give ~505 ms; the merged distribution's p90 is the slow second
    assert stats.p90_ms == pytest.approx(1000, rel=0.002)
    assert stats.p50_ms == pytest.approx(10, rel=0.002)
    assert stats.requests == 200 and stats.seconds == 2 and stats.achieved_rps == 100


def test_zero_traffic_seconds_are_unhealthy_and_lower_rps():
    series = [build_second(t, 50) for t in (10, 11, 14)]  # 12, 13 missing: the target served nothing
    stats = window_stats(series, SLO, 10, 15)
    assert stats.zero_traffic_seconds == 2
    assert stats.healthy_seconds == 3
    assert stats.availability == pytest.approx(0.6)
    assert stats.achieved_rps == pytest.approx(30)
    assert any("availability" in v for v in stats.violations(SLO))


def test_error_rate_and_failure_kinds_are_summed():
    series = [build_second(0, 100, failed=10, failure_kind="http_503"), build_second(1, 100, failed=0)]
    stats = window_stats(series, SLO, 0, 2)
    assert stats.failed == 10 and stats.failures == {"http_503": 10}
    assert stats.error_rate == pytest.approx(0.05)
    assert stats.availability == pytest.approx(0.5)


def test_empty_and_inverted_windows_are_reported_not_crashing():
    series = [build_second(0, 10)]
    empty = window_stats(series, SLO, 5, 5)
    assert empty.empty and empty.violations(SLO) == ["empty window: no seconds to judge"]
    assert window_stats(series, SLO, 5, 3).seconds == 0
    silent = window_stats([], SLO, 0, 3)
    assert silent.requests == 0 and silent.violations(SLO) == ["no traffic at all"]


def test_second_health_names_each_broken_target():
    slow = second_health(build_second(0, 100, failed=2, low_ms=300, high_ms=700), Slo(p99_ms=650))
    assert not slow.healthy
    text = " ".join(slow.reasons)
    assert "error rate" in text and "p90" in text and "p95" in text and "p99" in text
    assert second_health(build_second(0, 100), SLO).healthy
    assert second_health(build_second(0, 0), SLO).reasons == ("no traffic",)


def test_duplicate_seconds_are_rejected():
    with pytest.raises(ValueError, match="two samples"):
        window_stats([build_second(0, 1), build_second(0, 1)], SLO, 0, 1)
