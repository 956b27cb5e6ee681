"""The checks a drill is judged on: one registry (`CHECKS`, in `registry.py`) of `Check`s, each
with its name, what it needs and its judge (one module per check or small family), and
`evaluate()`, which judges a journal through it.

Check names are the scenario file's: slo-baseline, detection, rto, rpo, slo-after-recovery,
availability, integrity. A check that was asked for but cannot be judged (no fault injected, no
ledger read back) fails and says why: a promise that was not demonstrated is not kept.
"""

from verify.checks.base import Check, CheckContext, Judge, Needs
from verify.checks.judge import default_checks, evaluate
from verify.checks.registry import CHECKS, CheckName, CheckNameField, check_named, needs_ledger

__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "CheckName",
    "CheckNameField",
    "Judge",
    "Needs",
    "check_named",
    "default_checks",
    "evaluate",
    "needs_ledger",
]
