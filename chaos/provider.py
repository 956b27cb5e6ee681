"""The fault-provider protocol and registry.

The engine talks to every target through this protocol and never branches on
the provider type. Adding a provider is one module plus one `register` call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import JsonValue

from chaos.actions import ActionCall
from chaos.targets import Target
from scenarios.errors import InvalidInputError

Undo = dict[str, JsonValue]


@dataclass(frozen=True)
class RemediationContext:
    """What a runbook step may need to know about the drill so far."""

    fault_at: float | None  # epoch seconds of the first injected fault
    undo_by_action: dict[str, Undo] = field(default_factory=dict)  # undo data of injected faults


@runtime_checkable
class Provider(Protocol):
    name: ClassVar[str]
    supported_actions: ClassVar[frozenset[str]]

    def preflight(self, calls: list[ActionCall]) -> list[str]:
        """Check the target can take and undo each call. Returns problems (empty = fine). Injects nothing."""

    def plan(self, call: ActionCall) -> list[str]:
        """The exact operations `inject`/`remediate` and `revert` would make, one per line. Touches nothing."""

    def inject(self, call: ActionCall) -> Undo:
        """Make the fault real. Returns what `revert` needs (a snapshot of what was changed)."""

    def revert(self, call: ActionCall, undo: Undo) -> None:
        """Undo a fault. Idempotent: reverting twice, or a fault that was never applied, is fine."""

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        """Perform a runbook step. Returns details for the journal (e.g. restored table name)."""

    def close(self) -> None:
        """Release clients and connections."""


ProviderFactory = Callable[[Any], Provider]

# target kind -> "module:Class"; imported lazily so `validate` needs no cloud SDK at import.
_REGISTRY: dict[str, str] = {
    "bundled": "chaos.local.provider:LocalProvider",
    "aws": "chaos.aws.provider:AwsProvider",
}


def register(kind: str, dotted: str) -> None:
    _REGISTRY[kind] = dotted


def provider_class(kind: str) -> type[Provider]:
    try:
        dotted = _REGISTRY[kind]
    except KeyError:
        raise InvalidInputError(f"no fault provider for target kind {kind!r}") from None
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def provider_for(target: Target, **runtime: Any) -> Provider:
    """Build the provider for a resolved target. `runtime` carries what only exists at run time
    (e.g. the control URL and admin token of a bundled service the harness started)."""
    return provider_class(target.kind)(target, **runtime)
