"""The registry of checks: the one list of what a drill can promise, in the order they are listed.

Everything that knows check names reads it: the scenario file's `checks:` (`CheckName`, its
values), the loader's prerequisites (`Check.needs`), the engine's ledger read-back
(`needs_ledger`), `default_checks` and `evaluate`. A new check is a module defining its `Check`
(name, description, needs, judge) and one entry below.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator

from verify.checks.base import Check
from verify.checks.detection import DETECTION
from verify.checks.ledger import INTEGRITY, RPO
from verify.checks.rto import RTO
from verify.checks.slo_windows import AVAILABILITY, SLO_AFTER_RECOVERY, SLO_BASELINE


def _registry(*checks: Check) -> Mapping[str, Check]:
    by_name: dict[str, Check] = {}
    for check in checks:
        if check.name in by_name:
            raise ValueError(f"check {check.name!r} is registered twice")
        by_name[check.name] = check
    return MappingProxyType(by_name)


CHECKS: Mapping[str, Check] = _registry(
    SLO_BASELINE,
    DETECTION,
    RTO,
    RPO,
    SLO_AFTER_RECOVERY,
    AVAILABILITY,
    INTEGRITY,
)

# The names as an enum, derived from the registry (e.g. CheckName.SLO_BASELINE == "slo-baseline"):
# pydantic validates `checks:` against it, and lists the valid names when one is unknown.
CheckName = StrEnum(
    "CheckName", [(name.upper().replace("-", "_"), name) for name in CHECKS], module=__name__
)


def _suggest_close(value: object) -> object:
    """An unknown name close to a known one: say which was probably meant (else the enum lists them all)."""
    if isinstance(value, str) and value not in CHECKS:
        close = difflib.get_close_matches(value, list(CHECKS), n=1, cutoff=0.7)
        if close:
            raise ValueError(f"unknown check {value!r} (did you mean {close[0]!r}?)")
    return value


# The type of a `checks:` item in the scenario models.
CheckNameField = Annotated[CheckName, BeforeValidator(_suggest_close)]


def check_named(name: str) -> Check:
    try:
        return CHECKS[name]
    except KeyError:
        raise ValueError(f"unknown check {name!r} (known: {', '.join(CHECKS)})") from None


def needs_ledger(names: Iterable[str]) -> bool:
    """Whether any of these checks judges the write ledger (the engine then reads it back)."""
    return any(check_named(name).needs.ledger for name in names)
