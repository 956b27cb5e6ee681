"""The engine's detection during a drill: the model's alarm time, or the target's own alarm when it names one."""

from __future__ import annotations

from common.errors import TargetError
from scenarios.detection_watch import ALARM_POLL_S, DetectionWatch
from scenarios.models import Config, resolve
from verify.journal import Journal
from verify.synthetic import fault_series

T0 = 1_700_000_100  # a multiple of 300 s
FAULT = T0 + 10.0


def plan(target: str = "local"):
    config = Config.model_validate({
        "version": 1, "profiles": {"full": {}}, "defaults": {"load": {"rps": 100}},
        "targets": {"alarmed": {"kind": "aws", "api_url": "https://api.example.com", "min_time_scale": 0.01,
                                "alarm_names": ["errors", "latency"]}},
        "scenarios": {"d": {"rto": 300, "max_duration": 600, "checks": ["detection"],
                            "faults": [{"action": "lambda.deploy-bad-version"}]}}})
    return resolve(config, "d", "full", target, allow_protected=True)


class Target:
    def __init__(self, answers):
        self.answers = list(answers)
        self.asked = 0

    def alarm_times(self, since):
        self.asked += 1
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer


def watch(target, on: str = "local"):
    """`on`: the plan's target; "alarmed" names its own alarms (errors, latency)."""
    journal = Journal(run_id="r", scenario="d", profile="full", target="t", started_at=T0, fault_at=FAULT)
    return DetectionWatch(plan(on), target, journal), journal


def test_without_alarms_of_its_own_the_model_pages() -> None:
    w, journal = watch(Target([{}]))
    series = fault_series(T0 - 900, 1500, FAULT, latencies=False)
    w.start(FAULT, [s for s in series if s.t < FAULT], now=FAULT)
    for sample in (s for s in series if s.t >= FAULT):
        w.observe(sample)
    assert journal.first_bad_s == 0.0  # FAULT is a whole second
    assert journal.detection_s == 350.0 and journal.detected_by == "cloudwatch model"  # read at +360 from T0
    assert not w.poll(FAULT + 1000, force=True)  # nothing to ask a target without alarms


def test_a_target_alarm_is_polled_and_a_failed_read_is_retried() -> None:
    fired = {"errors": FAULT + 95.0, "latency": None}
    w, journal = watch(Target([{"errors": None, "latency": None}, TargetError("throttled"), fired]), on="alarmed")
    w.start(FAULT, [], now=FAULT)
    assert w.by_target and journal.detected_at is None
    assert not w.poll(FAULT + ALARM_POLL_S / 2)  # not yet time to ask again
    assert not w.poll(FAULT + ALARM_POLL_S)  # the read fails: logged, tried again next time
    assert w.poll(FAULT + 2 * ALARM_POLL_S)
    assert journal.detection_s == 95.0 and journal.detected_by == "alarm errors" and journal.alarm_times == fired


def test_a_failed_first_read_neither_stops_the_drill_nor_the_polling() -> None:
    fired = {"errors": FAULT + 40.0, "latency": None}
    w, journal = watch(Target([TargetError("throttled"), fired]), on="alarmed")
    w.start(FAULT, [], now=FAULT)  # the read at the fault fails: logged, not raised
    assert w.by_target and journal.detected_at is None
    assert w.poll(FAULT + ALARM_POLL_S)
    assert journal.detection_s == 40.0
