"""One CloudWatch alarm evaluation: the state that N datapoints, M to alarm and a missing-data treatment give.

This is the table-driven part of AWS's "Configuring how CloudWatch alarms treat missing data"
(CloudWatch User Guide, `alarms-and-missing-data`); `verify.alarm` decides which datapoints an
evaluation sees. A datapoint is True (breaching), False (not breaching) or None (missing).

What the documentation says, and the reading implemented where it leaves room:

- CloudWatch retrieves more datapoints than N, the *evaluation range*. Its size "depends on the length
  of the alarm period"; every example uses 5 for N = 3. Reading: the range is N + 2 datapoints
  (`EXTRA_DATAPOINTS`).
- At least N real datapoints in the range: the most recent N real ones are evaluated (ALARM when at least
  M breach), and the treatment of missing data is not consulted.
- Fewer than N real ones: "CloudWatch fills in the missing data points with the result you specified ...
  all real data points in the evaluation range are included ... uses missing data points only as few
  times as possible", and the tables fill the *most recent* missing slots. So the N evaluated datapoints
  are every real one plus the most recent N - real missing slots.
  - `breaching` / `notBreaching`: the filled slots count as such; ALARM when at least M breach.
  - `missing`: judged on the real ones. None at all: INSUFFICIENT_DATA. At least M breaching: ALARM. A
    real non-breaching one among them: OK. Otherwise every real datapoint breaches but fewer than M:
    the "premature alarm state" rule decides. The documentation states it two ways ("the oldest
    available breaching datapoint ... is at least as old as the value of Datapoints to Alarm", and, for
    M out of N, "at least as old as the value of Evaluation Periods") and its own M-of-N row (`- - - X -`,
    M = 2, N = 3: ALARM) only fits the first. Reading: ALARM when the oldest breaching datapoint's age
    among the N evaluated ones (1 = the most recent) is at least M, else INSUFFICIENT_DATA (the older
    edition's `- - - - X` row: "Insufficient data"). This also gives the older edition's `X - - - -`
    row (ALARM, "because the oldest evaluated data point is breaching and there aren't any
    non-breaching data points").
  - `ignore`: "the current alarm state is maintained" when the answer rests on missing data: where
    `missing` gives INSUFFICIENT_DATA or a premature ALARM, the state is kept; otherwise (a real
    non-breaching datapoint, or M real breaching ones) as `missing`. This is every IGNORE cell of both
    tables.

Both tables of the current edition and the older edition's extra rows are tests (tests/verify/test_alarm_eval.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from verify.slo import TreatMissingData

EXTRA_DATAPOINTS = 2  # evaluation range = N + 2 (the documentation's examples: 5 for N = 3)

Datapoint = bool | None  # True breaching, False not breaching, None missing


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


def evaluation_range(evaluation_periods: int) -> int:
    return evaluation_periods + EXTRA_DATAPOINTS


def evaluate_alarm(
    datapoints: Sequence[Datapoint],
    evaluation_periods: int,
    datapoints_to_alarm: int,
    treatment: TreatMissingData,
    current: AlarmState = AlarmState.INSUFFICIENT_DATA,
) -> AlarmState:
    """The state after one evaluation of the evaluation range `datapoints` (oldest first, most recent last)."""
    n, m = evaluation_periods, datapoints_to_alarm
    if not 1 <= m <= n:
        raise ValueError(f"need 1 <= datapoints_to_alarm ({m}) <= evaluation_periods ({n})")
    real = [d for d in datapoints if d is not None]
    if len(real) >= n:
        return _verdict(sum(real[-n:]) >= m)
    fill = n - len(real)
    if treatment is TreatMissingData.BREACHING:
        return _verdict(sum(real) + fill >= m)
    if treatment is TreatMissingData.NOT_BREACHING:
        return _verdict(sum(real) >= m)
    state, rests_on_missing = _judged_on_real(datapoints, n, m)
    if treatment is TreatMissingData.IGNORE and rests_on_missing:
        return current
    return state


def _verdict(alarm: bool) -> AlarmState:
    return AlarmState.ALARM if alarm else AlarmState.OK


def _judged_on_real(datapoints: Sequence[Datapoint], n: int, m: int) -> tuple[AlarmState, bool]:
    """`missing` with fewer than N real datapoints: the state, and whether it rests on the missing ones."""
    real = [d for d in datapoints if d is not None]
    if not real:
        return AlarmState.INSUFFICIENT_DATA, True
    if sum(real) >= m:
        return AlarmState.ALARM, False
    if not all(real):
        return AlarmState.OK, False
    # Every real datapoint breaches, fewer than M: the premature-alarm rule, over the N evaluated ones.
    slots = range(len(datapoints))
    missing = [i for i in slots if datapoints[i] is None][::-1][: n - len(real)]  # the most recent gaps
    evaluated = sorted([i for i in slots if datapoints[i] is not None] + missing)
    oldest_breaching = next(pos for pos, i in enumerate(evaluated) if datapoints[i])
    age = len(evaluated) - oldest_breaching  # 1 = the most recent evaluated datapoint
    return (AlarmState.ALARM if age >= m else AlarmState.INSUFFICIENT_DATA), True
