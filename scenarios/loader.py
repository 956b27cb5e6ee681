"""Reads scenarios.yaml into a validated Config, reporting every problem at once as `FILE:LINE: path: message`.

The YAML is composed to nodes first so each value keeps the line it came from; pydantic errors and the
loader's own cross-checks (actions, references, provider capabilities) are then mapped back to lines.
Nothing here touches a target: the only I/O is reading the file (and importing provider classes).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chaos.actions import CATALOG, ENGINE_ACTIONS, ActionKind
from chaos.targets import BundledTarget
from common.durations import format_duration
from common.errors import InvalidInputError, ScenarioFileError
from loadtests.plan import LoadPlan
from scenarios.models import (
    DEFAULT_TARGET,
    Config,
    Defaults,
    Profile,
    Scenario,
    Trigger,
    deep_merge,
)
from scenarios.problems import (
    PathT,
    Problems,
    problem_message,
    render_path,
    show_value,
    suggest,
)
from scenarios.salvage import Salvaged, normalize_durations, validate_entry
from scenarios.target_kinds import KINDS, provider_class
from scenarios.yaml_lines import read_yaml
from verify.checks import CHECKS
from verify.slo import AlarmRule, Slo

TOP_KEYS = ("version", "defaults", "profiles", "targets", "scenarios")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def load_config(path: str | Path, *, require_providers: bool = True) -> Config:
    """The validated Config of a scenario file. Raises ScenarioFileError listing every problem.

    With `require_providers=False` (for `plan`), a target whose fault provider cannot be loaded is
    not a problem: its capability checks are skipped, and the plan says the provider is missing.
    """
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{filename}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{filename}: cannot read the scenario file: {exc}") from None
    config = parse_config(text, filename, require_providers=require_providers)
    return anchor_paths(config, Path(path).absolute().parent)


def anchor_paths(config: Config, base: Path) -> Config:
    """Relative paths in the file are relative to the file, not to wherever the command runs:
    a bundled target's `data_dir`, any target's `ca_bundle` and every `load:` block's `ca_bundle`
    are made absolute (no I/O: the directory need not exist yet)."""
    targets = {
        name: target.model_copy(update={"data_dir": os.path.normpath(base / target.data_dir)})
        if isinstance(target, BundledTarget) and target.data_dir and not os.path.isabs(target.data_dir)
        else target
        for name, target in config.targets.items()
    }
    targets = {
        name: target.model_copy(update={"ca_bundle": os.path.normpath(base / os.path.expanduser(target.ca_bundle))})
        if target.ca_bundle and not os.path.isabs(target.ca_bundle)
        else target
        for name, target in targets.items()
    }

    def load(block: dict[str, Any]) -> dict[str, Any]:
        ca = block.get("ca_bundle")
        if isinstance(ca, str) and ca and not os.path.isabs(ca):
            return {**block, "ca_bundle": os.path.normpath(base / os.path.expanduser(ca))}
        return block

    defaults = config.defaults.model_copy(update={"load": load(config.defaults.load)})
    profiles = {n: p.model_copy(update={"load": load(p.load)}) for n, p in config.profiles.items()}
    scenarios = {n: sc.model_copy(update={"load": load(sc.load)}) for n, sc in config.scenarios.items()}
    return config.model_copy(update={"targets": targets, "defaults": defaults, "profiles": profiles,
                                     "scenarios": scenarios})


def parse_config(text: str, filename: str = "scenarios.yaml", *, require_providers: bool = True) -> Config:
    problems = Problems(filename)
    data = read_yaml(text, problems)
    if problems:
        raise ScenarioFileError(problems.render())
    config = _Checker(problems, require_providers).check(data)
    if problems or config is None:
        raise ScenarioFileError(problems.render())
    return config


# ---- the cross-checks ---------------------------------------------------------------------

BLOCK_MODELS: dict[str, type[BaseModel]] = {"load": LoadPlan, "slo": Slo, "detection": AlarmRule}
# Stand-ins for the rate so a partial `load:` block is checked field by field; whether the merged
# block names a rate is checked per profile and scenario once the layers are merged.
_LOAD_BASE: dict[str, Any] = {"rps": 1.0, "users": 1}


def _fmt(seconds: float) -> str:
    return format_duration(seconds)


class _Checker:
    """Validates the parsed data section by section, then cross-checks the valid parts."""

    def __init__(self, problems: Problems, require_providers: bool = True) -> None:
        self.p = problems
        self.require_providers = require_providers
        self.target_kinds: dict[str, str] = {}
        self.target_names: list[str] = []
        self._providers: dict[str, frozenset[str] | None] = {}

    def check(self, data: Any) -> Config | None:
        if data is None:
            self.p.add((), "the file is empty; it needs version, defaults, profiles, targets and scenarios")
            return None
        if not isinstance(data, dict):
            self.p.add((), f"the file must be a mapping with keys {', '.join(TOP_KEYS)} (got {show_value(data)})")
            return None
        for key in data:
            if key not in TOP_KEYS:
                self.p.add((key,), "unknown key" + suggest(key, list(TOP_KEYS), listing="allowed"))
        if "version" not in data:
            self.p.add(("version",), "missing required key (write `version: 1`)")
        elif data["version"] != 1 or isinstance(data["version"], bool):
            self.p.add(("version",), f"must be 1, the only version this harness reads (got {show_value(data['version'])})")

        defaults = self._defaults(data.get("defaults", {}))
        profiles = self._section(data, "profiles", Profile, ("load",))
        targets = self._targets(data)
        scenarios = self._section(data, "scenarios", Scenario, ("load", "slo", "detection"))
        scenario_names = list(data["scenarios"]) if isinstance(data.get("scenarios"), dict) else []
        for name, profile in profiles.items():
            self._profile(name, profile, scenario_names)
        for name, scenario in scenarios.items():
            self._scenario(name, scenario, data["scenarios"][name])
        self._merged_loads(defaults, profiles, scenarios)
        if self.p or defaults.value is None:
            return None
        return Config(
            version=1,
            defaults=defaults.value,
            profiles={n: s.value for n, s in profiles.items()},
            targets=targets,
            scenarios={n: s.value for n, s in scenarios.items()},
        )

    # -- sections

    def _blocks(self, raw: Any, prefix: PathT, names: tuple[str, ...]) -> Any:
        if isinstance(raw, dict):
            raw = dict(raw)
            for name in names:
                if name in raw:
                    raw[name] = normalize_durations(raw[name], prefix + (name,), self.p)
        return raw

    def _check_blocks(self, salvaged: Salvaged, prefix: PathT, names: tuple[str, ...]) -> None:
        """Each partial block is checked against its contract model on its own."""
        for name in names:
            if salvaged.value is None or name in salvaged.dropped:
                continue
            model = BLOCK_MODELS[name]
            block = getattr(salvaged.value, name)
            base = _LOAD_BASE if model is LoadPlan else {}
            try:
                model.model_validate(deep_merge(base, block))
            except ValidationError as exc:
                self.p.add_validation(prefix + (name,), exc, model, skip_root=True)
                salvaged.dropped.add(name)

    def _defaults(self, raw: Any) -> Salvaged:
        names = ("slo", "detection", "load")
        salvaged = validate_entry(Defaults, self._blocks(raw, ("defaults",), names), ("defaults",), self.p)
        self._check_blocks(salvaged, ("defaults",), names)
        return salvaged

    def _section(self, data: dict, key: str, model: type[BaseModel], blocks: tuple[str, ...]) -> dict[str, Salvaged]:
        raw = data.get(key, {})
        if not isinstance(raw, dict):
            self.p.add((key,), f"must be a mapping of name -> {key[:-1]} (got {show_value(raw)})")
            return {}
        out: dict[str, Salvaged] = {}
        for name, entry in raw.items():
            prefix = (key, name)
            self._name(prefix)
            salvaged = validate_entry(model, self._blocks(entry, prefix, blocks), prefix, self.p)
            self._check_blocks(salvaged, prefix, blocks)
            if salvaged.value is not None:
                out[name] = salvaged
        return out

    def _name(self, path: PathT) -> None:
        if not NAME.fullmatch(str(path[-1])):
            self.p.add(path, "names may use letters, digits, '-', '_' and '.', starting with a letter or digit")

    def _targets(self, data: dict) -> dict[str, Any]:
        raw = data.get("targets", {})
        if not isinstance(raw, dict):
            self.p.add(("targets",), f"must be a mapping of name -> target (got {show_value(raw)})")
            raw = {}
        valid: dict[str, Any] = {}
        kinds = ", ".join(KINDS)
        for name, entry in raw.items():
            prefix = ("targets", name)
            self._name(prefix)
            self.target_names.append(name)
            if not isinstance(entry, dict):
                self.p.add(prefix, f"must be a mapping (got {show_value(entry)})")
            elif "kind" not in entry:
                self.p.add(prefix + ("kind",), f"missing required key (one of: {kinds})")
            elif not isinstance(entry["kind"], str):
                self.p.add(prefix + ("kind",), f"must be one of: {kinds} (got {show_value(entry['kind'])})")
            elif entry["kind"] not in KINDS:
                self.p.add(prefix + ("kind",), f"unknown target kind {show_value(entry['kind'])} (one of: {kinds})")
            else:
                self.target_kinds[name] = entry["kind"]
                salvaged = validate_entry(KINDS[entry["kind"]].model, entry, prefix, self.p)
                if salvaged.value is not None and not salvaged.dropped:
                    valid[name] = salvaged.value
        if DEFAULT_TARGET not in raw:
            self.target_names.insert(0, DEFAULT_TARGET)
            self.target_kinds[DEFAULT_TARGET] = BundledTarget().kind
        return valid

    def _profile(self, name: str, salvaged: Salvaged, scenario_names: list[str]) -> None:
        profile = salvaged.value
        assert isinstance(profile, Profile)
        seen: set[str] = set()
        for i, scenario in enumerate(profile.scenarios or []):
            path = ("profiles", name, "scenarios", salvaged.index["scenarios"][i])
            if scenario not in scenario_names:
                self.p.add(path, f"unknown scenario {scenario!r}" + suggest(scenario, scenario_names, listing="the file has"))
            elif scenario in seen:
                self.p.add(path, f"scenario {scenario!r} is listed twice")
            seen.add(scenario)

    # -- one scenario

    def _scenario(self, name: str, salvaged: Salvaged, raw: dict) -> None:
        sc = salvaged.value
        assert isinstance(sc, Scenario)
        prefix: PathT = ("scenarios", name)
        dropped = salvaged.dropped

        def at(list_name: str, i: int) -> PathT:
            return prefix + (list_name, salvaged.index[list_name][i])

        has_faults = bool(raw.get("faults")) if "faults" not in dropped else True
        if sc.targets is not None:
            if not sc.targets:
                self.p.add(prefix + ("targets",), "list at least one target, or leave `targets` out for every target")
            for i, target in enumerate(sc.targets):
                if target not in self.target_names:
                    self.p.add(at("targets", i), f"unknown target {target!r}" + suggest(target, self.target_names, listing="the file has"))
        run_on = [t for t in (sc.targets or self.target_names) if t in self.target_kinds]
        hint = "" if sc.targets is not None else "; list the targets it runs on with `targets:`"

        for where in ("setup", "teardown"):
            for i, step in enumerate(getattr(sc, where)):
                path = at(where, i)
                if step.action in ENGINE_ACTIONS:
                    self.p.add(path + ("action",), f"{step.action!r} undoes a fault; it cannot run in {where}")
                elif self._action(path, step.action, step.params, ActionKind.REMEDIATION, where):
                    self._capable(path, step.action, run_on, hint)

        fault_ids: dict[str, str] = {}
        for i, fault in enumerate(sc.faults):
            path = at("faults", i)
            if self._action(path, fault.action, fault.params, ActionKind.FAULT, "faults"):
                self._capable(path, fault.action, run_on, hint)
            fid = fault.fault_id
            if fid in fault_ids:
                self.p.add(path + ("id",), f"duplicate fault id {fid!r} (also {fault_ids[fid]}); give each fault its own `id`")
            fault_ids.setdefault(fid, render_path(path[2:]))
            if sc.max_duration is not None and fault.at >= sc.max_duration:
                self.p.add(path + ("at",), f"starts at {_fmt(fault.at)}, not before max_duration {_fmt(sc.max_duration)}")

        for i, step in enumerate(sc.remediation):
            path = at("remediation", i)
            if self._action(path, step.action, step.params, ActionKind.REMEDIATION, "remediation"):
                self._capable(path, step.action, run_on, hint)
                if step.action in ENGINE_ACTIONS and "faults" not in dropped:
                    ref = str(step.params.get("fault"))
                    if ref not in fault_ids:
                        self.p.add(path + ("params", "fault"), f"no fault with id {ref!r} in this scenario"
                                   + suggest(ref, list(fault_ids), listing="fault ids"))
            if step.when is not Trigger.NEVER and not has_faults:
                self.p.add(path + ("when",), f"`when: {step.when.value}` needs a fault to follow; this scenario has none")

        self._checks(sc, salvaged, prefix, has_faults)
        if has_faults and sc.max_duration is None and "max_duration" not in dropped:
            self.p.add(prefix + ("max_duration",), "missing required key: a drill with faults needs a hard bound, e.g. `max_duration: 10m`")
        if sc.max_duration is not None and sc.rto is not None and sc.max_duration < sc.rto + sc.sustained:
            self.p.add(prefix + ("max_duration",), f"{_fmt(sc.max_duration)} leaves no time to observe recovery: "
                       f"it must be at least rto + sustained = {_fmt(sc.rto + sc.sustained)}")

    def _checks(self, sc: Scenario, salvaged: Salvaged, prefix: PathT, has_faults: bool) -> None:
        """Each check once, with what it needs (`verify.checks.Needs`)."""
        dropped = salvaged.dropped
        if "checks" in dropped:
            return
        if not sc.checks:
            self.p.add(prefix + ("checks",), "list at least one check (" + ", ".join(CHECKS) + ")")
        seen: set[str] = set()
        for i, name in enumerate(sc.checks):
            path = prefix + ("checks", salvaged.index["checks"][i])
            if name in seen:
                self.p.add(path, f"check {name.value!r} is listed twice")
                continue
            seen.add(name)
            needs = CHECKS[name].needs
            objective = needs.objective
            if objective is not None and getattr(sc, objective) is None and objective not in dropped:
                self.p.add(path, f"check {name.value!r} needs `{objective}:` (a duration)")
            if needs.fault and not has_faults:
                self.p.add(path, f"check {name.value!r} needs at least one fault")
            if needs.baseline and sc.baseline == 0 and "baseline" not in dropped:
                self.p.add(path, f"check {name.value!r} needs a baseline longer than 0s")

    def _action(self, path: PathT, action: str, params: dict, kind: ActionKind, where: str) -> bool:
        spec = CATALOG.get(action)
        if spec is None:
            names = [n for n, s in CATALOG.items() if s.kind is kind]
            self.p.add(path + ("action",), f"unknown {kind.value} action {action!r}"
                       + suggest(action, names, listing="known", cutoff=0.8))
            return False
        if spec.kind is not kind:
            if where == "faults":
                message = f"{action!r} is a remediation action, not a fault"
            elif where == "remediation":
                message = f"{action!r} is a fault action, not a remediation"
            else:
                message = f"{action!r} is a fault action; {where} runs remediation actions only"
            self.p.add(path + ("action",), message)
            return False
        try:
            spec.params.model_validate(params)
        except ValidationError as exc:
            self.p.add_validation(path + ("params",), exc, spec.params)
            return False
        return True

    def _capable(self, path: PathT, action: str, run_on: list[str], hint: str) -> None:
        if action in ENGINE_ACTIONS:
            return
        for target in run_on:
            supported = self._supported(target)
            if supported is not None and action not in supported:
                kind = self.target_kinds[target]
                self.p.add(path + ("action",), f"target {target!r} ({kind}) cannot do {action!r}{hint}")

    def _supported(self, target: str) -> frozenset[str] | None:
        """The actions the target's provider can do; None (reported once) if it cannot be loaded."""
        if target in self._providers:
            return self._providers[target]
        kind = self.target_kinds[target]
        supported: frozenset[str] | None = None
        try:
            supported = frozenset(provider_class(kind).supported_actions)
        except Exception as exc:  # a missing or broken provider module is a finding, not a crash
            reason = str(exc) or type(exc).__name__
            if self.require_providers:
                self.p.add(("targets", target, "kind"), f"cannot load the fault provider for kind {kind!r}: {reason}")
        self._providers[target] = supported
        return supported

    # -- across sections

    def _merged_loads(self, defaults: Salvaged, profiles: dict[str, Salvaged], scenarios: dict[str, Salvaged]) -> None:
        """defaults.load <- profile.load <- scenario.load must make a complete LoadPlan for every pair."""
        if defaults.value is None or "load" in defaults.dropped:
            return
        base: dict = defaults.value.load  # type: ignore[attr-defined]
        by_profile: dict[tuple[str, str], list[str]] = {}
        for pname, profile in profiles.items():
            if "load" in profile.dropped:
                continue
            for sname, scenario in scenarios.items():
                if "load" in scenario.dropped:
                    continue
                p_load, s_load = profile.value.load, scenario.value.load  # type: ignore[attr-defined]
                try:
                    LoadPlan.model_validate(deep_merge(deep_merge(base, p_load), s_load))
                except ValidationError as exc:
                    for err in exc.errors(include_url=False):
                        message = problem_message(err, LoadPlan, tuple(err["loc"]))
                        if s_load:  # depends on the profile too: name them, once per message
                            by_profile.setdefault((sname, message), []).append(pname)
                        elif p_load:
                            self.p.add(("profiles", pname, "load"), message)
                        else:
                            self.p.add(("defaults", "load"), message)
        for (sname, message), names in by_profile.items():
            self.p.add(("scenarios", sname, "load"), f"{message} (with profile {', '.join(names)})")
