"""Detection while a drill runs: the first bad second, and the alarm time that pages the on-call.

From the fault on, every sample goes to the plan's detection model (`detection.model`, CloudWatch's by
default) and to the first-bad-second tracker. The target's provider is asked, kind-neutrally, for its own
alarms (`Provider.alarm_times`): a target that names alarms (a real stack) is detected when one of them
goes to ALARM, polled every `ALARM_POLL_S`; the model then only stands beside it in the reports. The
journal gets `first_bad_at`, `detected_at` (what `when: on-detection` remediations wait for) and
`alarm_times` as they become known.

A service can recover before its alarm pages (the bundled edge fails over on its own in seconds; a
300 s period is read minutes later). A drill that judges detection, or waits for it, then runs on
until the alarm fires or can no longer fire for this fault (`waiting`, `detection_horizon_s`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from chaos.provider import Provider
from common.errors import HarnessError
from loadtests.records import SecondSample
from scenarios.models import DrillPlan, Trigger
from verify.detection import DetectionModel, FirstBadTracker
from verify.detection_models import detection_horizon_s, detection_model
from verify.journal import Journal

log = logging.getLogger(__name__)

ALARM_POLL_S = 10.0  # DescribeAlarmHistory once per alarm this often: a few calls a minute


class DetectionWatch:
    def __init__(self, plan: DrillPlan, provider: Provider, journal: Journal) -> None:
        self.plan = plan
        self.provider = provider
        self.journal = journal
        self.model: DetectionModel | None = None
        self.first_bad: FirstBadTracker | None = None
        self.by_target = False  # the target's own alarms page (it named some)
        self._last_poll: float | None = None
        self._needed = any(c.value == "detection" for c in plan.checks) or any(
            r.when is Trigger.ON_DETECTION for r in plan.remediations
        )

    @property
    def started(self) -> bool:
        return self.model is not None

    def start(self, fault_at: float, earlier: Iterable[SecondSample], now: float) -> None:
        """At the first fault: the model replays the samples before it (its periods reach back)."""
        self.model = detection_model(self.plan.detection, fault_at)
        self.first_bad = FirstBadTracker(self.plan.detection, fault_at)
        for sample in earlier:
            self.model.observe(sample)
        # Whether the target's own alarms decide is the target's configuration, not the first read's answer.
        self.by_target = bool(self.plan.target.detection_alarms)
        self._last_poll = now - ALARM_POLL_S  # read them now; a failed read is retried like any poll
        self.poll(now)
        self._update()

    def observe(self, sample: SecondSample) -> bool:
        """Feed one second; True when the journal's detection or first bad second changed."""
        assert self.model is not None and self.first_bad is not None
        self.model.observe(sample)
        self.first_bad.observe(sample)
        return self._update()

    def waiting(self, now: float) -> bool:
        """Whether the drill should run on for the alarm: the plan judges or waits for detection, the alarm has
        not fired, and it still may for this fault."""
        if not self.started or not self._needed or self.journal.detected_at is not None:
            return False
        assert self.journal.fault_at is not None
        slack = ALARM_POLL_S if self.by_target else 0.0  # the target's alarm is read every ALARM_POLL_S
        return now < self.journal.fault_at + detection_horizon_s(self.plan.detection) + slack

    def poll(self, now: float, *, force: bool = False) -> bool:
        """Ask the target for its alarms (every ALARM_POLL_S, or now); True when the detection changed."""
        if not self.by_target or self.journal.fault_at is None or self._last_poll is None:
            return False
        if not force and now - self._last_poll < ALARM_POLL_S:
            return False
        self._last_poll = now
        try:
            self.journal.alarm_times = self.provider.alarm_times(self.journal.fault_at)
        except HarnessError as exc:  # a throttled or failed read: the next poll tries again
            log.warning("reading the target's alarms failed: %s", exc)
            return False
        return self._update()

    def _update(self) -> bool:
        journal, changed = self.journal, False
        assert self.first_bad is not None and self.model is not None and journal.fault_at is not None
        if journal.first_bad_at is None and self.first_bad.first_bad_at is not None:
            journal.first_bad_at, journal.first_bad_s = self.first_bad.first_bad_at, self.first_bad.first_bad_s
            changed = True
        if journal.detected_at is not None:
            return changed
        if self.by_target:
            fired = {name: at for name, at in journal.alarm_times.items() if at is not None}
            if fired:
                name = min(fired, key=lambda n: fired[n])
                detected_at, by = fired[name], f"alarm {name}"
            else:
                return changed
        elif self.model.detection is not None:
            detected_at, by = self.model.detection.detected_at, self.model.detection.by
        else:
            return changed
        journal.detected_at, journal.detection_s, journal.detected_by = detected_at, detected_at - journal.fault_at, by
        return True
