"""The registry of target kinds: for each `kind:` of the scenario file, its model, its session and its
fault provider. Everything that depends on the kind of a target asks here; nothing else names kinds.

Adding a kind is one module (its model, session and provider) plus one entry in `KINDS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Annotated, Any, Protocol, Union

from pydantic import BaseModel, Field, TypeAdapter

from chaos.provider import Provider
from chaos.targets import AwsTarget, BundledTarget
from common.errors import InvalidInputError
from scenarios.target_session import AwsSession, BundledSession, TargetSession


class TargetModel(Protocol):
    kind: str
    protected: bool

    @property
    def endpoint(self) -> str | None: ...


class SessionFactory(Protocol):
    def __call__(self, target: Any) -> TargetSession: ...

    @staticmethod
    def stop_leftover(pid: int, data_dir: str | None) -> bool:
        """Stop a service a killed run started (see `hanbit-drill cleanup`)."""


@dataclass(frozen=True)
class TargetKind:
    model: type[BaseModel]  # the file's fields; its `kind` literal names the kind
    session: type  # a SessionFactory: starts what the harness owns, says where the load goes
    provider: str  # "module:Class" of its fault provider, imported when first needed

    @property
    def name(self) -> str:
        return str(self.model.model_fields["kind"].default)

    def provider_class(self) -> type[Provider]:
        module_name, _, attr = self.provider.partition(":")
        return getattr(importlib.import_module(module_name), attr)


KINDS: dict[str, TargetKind] = {
    kind.name: kind
    for kind in (
        TargetKind(BundledTarget, BundledSession, "chaos.local.provider:LocalProvider"),
        TargetKind(AwsTarget, AwsSession, "chaos.aws.provider:AwsProvider"),
    )
}

# The scenario file's `targets:` entries, told apart by `kind`.
TargetSpec = Annotated[Union[tuple(k.model for k in KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
TARGET_SPEC: TypeAdapter[Any] = TypeAdapter(TargetSpec)


def provider_at(kind: str, dotted: str) -> TargetKind:
    """The registry's entry for `kind`, served by another provider class (a plugin, or a test's fake)."""
    return replace(KINDS[kind], provider=dotted)


def kind_of(name: str) -> TargetKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInputError(f"no target kind {name!r}; kinds: {', '.join(KINDS)}") from None


def provider_class(kind: str) -> type[Provider]:
    return kind_of(kind).provider_class()


def provider_for(target: Any, **runtime: Any) -> Provider:
    """The provider of a resolved target. `runtime` carries what only exists at run time
    (e.g. the data directory of a bundled service the harness started)."""
    return provider_class(target.kind)(target, **runtime)


def session_for(target: Any) -> TargetSession:
    return kind_of(target.kind).session(target)
