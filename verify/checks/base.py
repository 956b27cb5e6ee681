"""What a check is: its name, what it needs, and how it is judged (`Check`, `Needs`, `CheckContext`).

A judge reads a `CheckContext` (the journal and what `evaluate` computed from it once for every
check) and returns a `CheckRecord`. A check asked for but not judgeable (no fault injected, no
ledger read back) fails and says why: a promise that was not demonstrated is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from verify.drill import DrillTimings, DrillWindows
from verify.journal import CheckRecord, Journal
from verify.slo import AlarmRule, Slo
from verify.windows import WindowStats


@dataclass(frozen=True)
class Needs:
    """What a check needs to mean something. The loader rejects a scenario that lacks it; the
    engine reads the ledger back for the checks that need it; `default_checks` picks by it."""

    fault: bool = False  # judged from the first fault: the scenario must inject one
    objective: str | None = None  # the scenario key (a duration) judged against, e.g. "rto": it must be set
    baseline: bool = False  # judged over the baseline: it must be longer than 0 s
    ledger: bool = False  # judged from the write ledger, read back from the target after the load


@dataclass(frozen=True)
class CheckContext:
    """Everything a judge may read; computed once per `evaluate`, shared by the checks judged."""

    journal: Journal
    slo: Slo  # the SLO judged against (the plan's, else the journal's, else the manual's)
    rule: AlarmRule  # the detection rule, its period already scaled
    timings: DrillTimings  # fault, detection and recovery times
    windows: DrillWindows  # baseline, during-fault, after-recovery and whole-drill figures


Judge = Callable[[CheckContext], CheckRecord]
LatencyWindow = Callable[[DrillWindows], WindowStats | None]


@dataclass(frozen=True)
class Check:
    """One promise a drill can make. `name` is the scenario file's, and the CheckRecord's.

    The judge returns a CheckRecord named `name`. A check that judges latency over a window names it
    (`latency_window`): `evaluate` turns its verdict inconclusive when the load generator was saturated
    in too many of that window's seconds (`verify.checks.judge.SATURATED_SHARE_LIMIT`).
    """

    name: str
    description: str  # one line: passes when ...
    judge: Judge
    needs: Needs = field(default_factory=Needs)
    by_default: bool = True  # judged when no checks are named, if the journal has what it needs
    latency_window: LatencyWindow | None = None  # the window whose latencies it judges (None: judges none)
