"""Fake fault providers for the scenario tests: the real ones need a running service or AWS.

`local` (bundled) can do every catalog action; `aws` all but `auth.expire-tokens`, so
capability errors have something to find.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

# Helper modules beside the tests (engine_sim.py) import like packages: the tests run with --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

from chaos.actions import CATALOG, ENGINE_ACTIONS, ActionCall
from scenarios.target_kinds import KINDS, provider_at

MODULE = "hanbit_test_fake_providers"


class FakeBundledProvider:
    name: ClassVar[str] = "fake-bundled"
    supported_actions: ClassVar[frozenset[str]] = frozenset(CATALOG) - ENGINE_ACTIONS
    observable_actions: ClassVar[frozenset[str]] = supported_actions  # game-day steps: any, for the fakes

    def __init__(self, target: Any, **runtime: Any) -> None:
        self.target = target

    touched: ClassVar[list[str]] = []  # any call that would change the target; `plan` must leave it empty

    def preflight(self, calls: list[ActionCall]) -> list[str]:
        self.touched.append("preflight")
        return []

    def inject(self, call: ActionCall) -> dict:
        self.touched.append(f"inject {call.name}")
        return {}

    def revert(self, call: ActionCall, undo: dict) -> None:
        self.touched.append(f"revert {call.name}")

    def remediate(self, call: ActionCall, context: Any) -> dict:
        self.touched.append(f"remediate {call.name}")
        return {}

    def close(self) -> None:
        pass

    found: ClassVar[list[Any]] = []  # the chaos.provider.Leftover items `leftovers` reports (cleanup --target)

    def leftovers(self) -> list[Any]:
        return [f for f in self.found if f"clear {f.name}" not in self.touched]

    def clear(self, leftover: Any) -> str:
        if "fails" in leftover.name:
            from common.errors import ProviderError

            raise ProviderError(f"{leftover.name}: AccessDenied")
        self.touched.append(f"clear {leftover.name}")
        return f"cleared {leftover.name}"

    def plan(self, call: ActionCall) -> list[str]:
        params = ", ".join(f"{k}={v}" for k, v in sorted(call.params.items()))
        return [f"inject: {call.name}({params})", f"revert: undo {call.name}"]


class FakeAwsProvider(FakeBundledProvider):
    name: ClassVar[str] = "fake-aws"
    # Like the real AWS provider: revoking every Cognito session is not a drill action there.
    supported_actions: ClassVar[frozenset[str]] = FakeBundledProvider.supported_actions - {"auth.expire-tokens"}


class UnbuildableProvider(FakeBundledProvider):
    def __init__(self, target: Any, **runtime: Any) -> None:
        raise RuntimeError("needs a control-plane token")


@pytest.fixture(autouse=True)
def fake_providers(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(MODULE)
    module.FakeBundledProvider = FakeBundledProvider  # type: ignore[attr-defined]
    module.FakeAwsProvider = FakeAwsProvider  # type: ignore[attr-defined]
    module.UnbuildableProvider = UnbuildableProvider  # type: ignore[attr-defined]
    monkeypatch.setattr(FakeBundledProvider, "touched", [])
    monkeypatch.setattr(FakeBundledProvider, "found", [])
    monkeypatch.setitem(sys.modules, MODULE, module)
    # setitem restores the real entries of the registry afterwards.
    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", f"{MODULE}:FakeBundledProvider"))
    monkeypatch.setitem(KINDS, "aws", provider_at("aws", f"{MODULE}:FakeAwsProvider"))
    return module
