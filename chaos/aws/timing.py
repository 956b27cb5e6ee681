"""How long AWS itself takes to act, from its documentation: the one table of propagation times.

A profile's `time_scale` shrinks every wait of a drill; AWS does not shrink. A fault the FIS Lambda
extension has not picked up yet, a failover Route 53 has not made, a restore point PITR does not cover
yet: a scaled wait shorter than these ends before AWS acted, and the drill measures the harness, not
the system. `plan` prints each warning; `run` refuses a time scale below the target's `min_time_scale`
and gives these as the reason.

Each row names the drill's wait it competes with (`rto`: the recovery clock, which starts at the fault;
`detection period`: the alarm's window) and is only compared when the drill performs one of its actions
(`actions` empty: every drill on AWS).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from common.durations import format_duration

FIS_LAMBDA_ACTIONS = frozenset(
    {"lambda.invocation-error", "lambda.add-latency", "lambda.http-status", "lambda.slow-invocations"}
)


@dataclass(frozen=True)
class Propagation:
    what: str
    seconds: float
    wait: str  # the scaled wait it must fit in: "rto" or "detection period"
    source: str
    actions: frozenset[str] = frozenset()  # empty: applies to every drill

    def applies(self, actions: Collection[str]) -> bool:
        return not self.actions or bool(self.actions & set(actions))


PROPAGATION: tuple[Propagation, ...] = (
    Propagation(
        "CloudWatch receives Lambda and API Gateway metrics once a minute: an alarm cannot evaluate a shorter period",
        60.0,
        "detection period",
        "CloudWatch user guide, metrics: standard resolution is 1 minute (Lambda and API Gateway publish at it)",
    ),
    Propagation(
        "the FIS Lambda extension reads its fault configuration from S3 about once a minute: a fault (and its "
        "stop) takes effect up to a minute late",
        60.0,
        "rto",
        "FIS user guide, 'Use the aws:lambda:function actions': the extension polls the S3 configuration location",
        FIS_LAMBDA_ACTIONS,
    ),
    Propagation(
        "Route 53 marks the primary unhealthy after 3 failed checks 30 s apart (90 s), then resolvers keep the old "
        "answer for the record's TTL (60 s for alias records to API Gateway)",
        150.0,
        "rto",
        "Route 53 developer guide, 'How Route 53 determines whether a health check is healthy': request interval "
        "30 s (default), failure threshold 3 (default)",
        frozenset({"region.outage", "region.failover"}),
    ),
    Propagation(
        "point-in-time recovery can restore only up to LatestRestorableDateTime, typically 5 minutes before now: a "
        "restore to just before the fault cannot start earlier",
        300.0,
        "rto",
        "DynamoDB API reference, UpdateContinuousBackups: 'LatestRestorableDateTime is typically 5 minutes before "
        "the current time'",
        frozenset({"table.restore"}),
    ),
)


def timing_warnings(actions: Collection[str], waits: Mapping[str, float | None]) -> list[str]:
    """One line per documented AWS delay longer than the scaled wait it competes with."""
    out = []
    for row in PROPAGATION:
        wait = waits.get(row.wait)
        if row.applies(actions) and wait is not None and row.seconds > wait:
            out.append(
                f"{row.wait} is {format_duration(wait)} after scaling, but {row.what} "
                f"({format_duration(row.seconds)}; {row.source})"
            )
    return out
