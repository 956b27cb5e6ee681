"""Seconds are filed by intended time and closed only when nothing can still land in them."""

from __future__ import annotations

from loadtests.collector import SecondCollector
from loadtests.merger import SecondMerger
from loadtests.partial import SecondPartial
from loadtests.records import GeneratorHealth


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_slow_request_holds_its_second_and_later_ones() -> None:
    clock = Clock(100.0)
    c = SecondCollector(100.0, max_hold_s=7, clock=clock)
    slow = c.expect(100.2)
    fast = c.expect(101.5)
    c.record(fast, 3_000, None)
    clock.now = 102.6
    assert c.close_ready() == []  # second 100 still has a request in flight, 101 must wait for it
    c.record(slow, 1_900_000, "timeout")
    closed = c.close_ready()
    assert [p.t for p in closed] == [100, 101]
    assert closed[0].requests == 1 and closed[0].failures == {"timeout": 1}
    assert closed[0].histogram.get_max_value() >= 1_900_000  # billed to the second it was meant for
    assert closed[1].requests == 1 and closed[1].failures == {}


def test_empty_seconds_are_still_emitted_in_order_with_their_health() -> None:
    clock = Clock(50.0)
    c = SecondCollector(50.0, max_hold_s=7, clock=clock)
    for t in (50, 51):
        c.note_health(t, GeneratorHealth(cpu_percent=12.0 + t, loop_lag_ms=1.0), users=3)
    clock.now = 53.01
    parts = c.close_ready()  # 52 waits a moment for its health measurement
    assert [(p.t, p.health.cpu_percent, p.users) for p in parts] == [(50, 62.0, 3), (51, 63.0, 3)]
    clock.now = 53.6
    assert [p.t for p in c.close_ready()] == [52]


def test_open_model_watermark_keeps_unscheduled_seconds_open() -> None:
    clock = Clock(10.0)
    c = SecondCollector(10.0, max_hold_s=7, clock=clock)
    c.watermark = 10.5  # the scheduler is behind: arrivals after 10.5 are not registered yet
    clock.now = 12.9
    assert c.close_ready() == []
    c.watermark = 12.2
    assert [p.t for p in c.close_ready()] == [10, 11]


def test_hold_limit_closes_a_stuck_second_and_counts_the_late_result() -> None:
    clock = Clock(0.0)
    c = SecondCollector(0.0, max_hold_s=3, clock=clock)
    t = c.expect(0.5)
    clock.now = 4.6
    part, *rest = c.close_ready()
    assert part.t == 0 and part.incomplete == 1 and part.requests == 0
    assert [p.t for p in rest] == [1, 2, 3]
    c.record(t, 10, None)
    assert c.late_results == 1


def test_final_close_takes_every_second_up_to_the_end() -> None:
    clock = Clock(0.0)
    c = SecondCollector(0.0, max_hold_s=7, clock=clock)
    c.record(c.expect(0.1), 5, None, created=True)
    cancelled = c.expect(2.5)
    c.cancel(cancelled)
    clock.now = 3.2
    assert [p.t for p in c.close_ready(until=4)] == [0, 1]  # 2 and 3 await their health
    for t in (2, 3):
        c.note_health(t, GeneratorHealth(), users=0)
    parts = c.close_ready(until=4)
    assert [p.t for p in parts] == [2, 3]
    assert c.in_flight == 0


def test_merger_waits_for_every_worker_then_gives_up_after_grace() -> None:
    clock = Clock(0.0)
    m = SecondMerger(lambda t: 100.0, grace_s=2, clock=clock)
    a = SecondPartial(5)
    a.record(1000, None)
    m.add("a", a)
    assert m.ready({"a", "b"}) == []
    b = SecondPartial(5)
    b.record(3000, "http_503")
    m.add("b", b)
    (s,) = m.ready({"a", "b"})
    assert (s.t, s.requests, s.failures, s.target_rps) == (5, 2, {"http_503": 1}, 100.0)
    m.add("a", SecondPartial(6))
    clock.now = 2.5
    (late,) = m.ready({"a", "b"})
    assert late.t == 6
    m.add("b", SecondPartial(6))  # after it was emitted: counted, not merged into a later second
    assert m.late_partials == 1
