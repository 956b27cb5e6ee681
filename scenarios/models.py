"""The models of scenarios.yaml, and `resolve()` which turns one scenario into a DrillPlan for the engine.

The file models (`Config` and below) keep what the operator wrote, with durations already in seconds.
`load`, `slo` and `detection` blocks are partial overrides (deep-merged defaults <- profile <- scenario),
so they stay plain mappings here and are validated against the shared contract models by the loader.
A `DrillPlan` is fully resolved: merged and validated blocks, every wait scaled by the profile.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from chaos.actions import ENGINE_ACTIONS, ActionCall
from chaos.targets import BundledTarget, Target
from common.durations import Duration
from common.errors import InvalidInputError
from loadtests.plan import LoadPlan
from scenarios.gameday.runbook import PLACEHOLDERS, unknown_placeholders
from scenarios.target_kinds import TargetSpec, provider_class
from verify.checks import CheckName, CheckNameField
from verify.slo import AlarmRule, Slo

# A partial override of a shared contract model (LoadPlan, Slo, AlarmRule).
Block = dict[str, JsonValue]

_T = TypeVar("_T")

DEFAULT_TARGET = "local"  # a bundled service the harness starts; implied when the file does not define it


class Trigger(StrEnum):
    ON_DETECTION = "on-detection"  # `delay` after the alarm went to ALARM (the alarm time, not the first bad second)
    AFTER_FAULT = "after-fault"  # `delay` after the first fault was injected
    NEVER = "never"  # documented runbook step, not run (self-healing fault, negative control)


class Expect(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # a negative control: the suite fails only if it unexpectedly passes


class StopMetric(StrEnum):
    ERROR_RATE_ABOVE = "error_rate_above"
    P90_MS_ABOVE = "p90_ms_above"
    RPS_BELOW = "rps_below"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- the file -----------------------------------------------------------------------------


class ActionStep(_Strict):
    """A remediation-kind action run before the fault (e.g. take a backup)."""

    action: str
    params: Block = Field(default_factory=dict)

    def call(self) -> ActionCall:
        return ActionCall(name=self.action, params=self.params)


class FaultSpec(ActionStep):
    id: str = Field("", description="referenced by `revert-fault`; defaults to the action name")
    at: Duration = Field(0.0, description="offset from the start of the inject phase")

    @property
    def fault_id(self) -> str:
        return self.id or self.action


class Performer(StrEnum):
    HARNESS = "harness"  # the harness performs the step when its trigger fires
    OPERATOR = "operator"  # the harness pages the on-call and watches for the runbook's action (game day)


class RemediationSpec(ActionStep):
    when: Trigger = Trigger.ON_DETECTION
    delay: Duration = Field(0.0, description="wait this long after the trigger (operator response time)")
    by: Performer = Performer.HARNESS
    runbook: str | dict[str, str] | None = Field(
        None, description="the step as the on-call runs it; one template, or one per target kind")
    operator_timeout: Duration | None = Field(
        None, description="by: operator - the harness performs the step itself after this (default: the RTO)")

    @model_validator(mode="after")
    def _runbook(self) -> Self:
        if self.by is Performer.OPERATOR and self.runbook is None:
            raise ValueError("by: operator needs a `runbook:` (the command the on-call is paged with)")
        unknown = unknown_placeholders(self.runbook) if self.runbook is not None else set()
        if unknown:
            raise ValueError(f"runbook: unknown placeholder(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(PLACEHOLDERS))}")
        return self


class StopConditionSpec(_Strict):
    """Abort (and revert) when one metric stays past its bound for `for` seconds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    error_rate_above: float | None = Field(None, ge=0, le=1)
    p90_ms_above: float | None = Field(None, gt=0)
    rps_below: float | None = Field(None, ge=0)
    for_: Duration = Field(0.0, alias="for")

    @model_validator(mode="after")
    def _one_metric(self) -> Self:
        if len(self.metrics()) != 1:
            names = ", ".join(m.value for m in StopMetric)
            raise ValueError(f"give exactly one of {names}")
        return self

    def metrics(self) -> list[tuple[StopMetric, float]]:
        return [(m, v) for m in StopMetric if (v := getattr(self, m.value)) is not None]


class Defaults(_Strict):
    slo: Block = Field(default_factory=dict)
    detection: Block = Field(default_factory=dict)
    load: Block = Field(default_factory=dict)


class Profile(_Strict):
    description: str = ""
    time_scale: float = Field(1.0, gt=0, le=10, description="multiplies every wait and time limit")
    load: Block = Field(default_factory=dict)
    scenarios: list[str] | None = Field(None, description="the suite `run` executes; default: all")
    remediation_by: Performer | None = Field(
        None, description="who performs every runbook step with a `runbook:` in this profile (game day: operator)")


class Scenario(_Strict):
    description: str = ""
    targets: list[str] | None = Field(None, description="targets it may run on; default: every target")
    rto: Duration | None = None
    rpo: Duration | None = None
    baseline: Duration = 60.0
    sustained: Duration = 60.0
    max_duration: Duration | None = Field(None, description="bound from the inject phase to recovery")
    load: Block = Field(default_factory=dict)
    slo: Block = Field(default_factory=dict)
    detection: Block = Field(default_factory=dict)
    setup: list[ActionStep] = Field(default_factory=list)
    teardown: list[ActionStep] = Field(
        default_factory=list,
        description="runbook steps run after every fault is reverted (e.g. region.failback): leave the system as found",
    )
    faults: list[FaultSpec] = Field(default_factory=list)
    remediation: list[RemediationSpec] = Field(default_factory=list)
    stop_conditions: list[StopConditionSpec] = Field(default_factory=list)
    checks: list[CheckNameField] = Field(
        default_factory=list, description="names from verify.checks.CHECKS; the loader requires at least one"
    )
    expect: Expect = Expect.PASS


class Config(_Strict):
    version: Literal[1]
    defaults: Defaults = Field(default_factory=Defaults)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    targets: dict[str, TargetSpec] = Field(default_factory=dict)
    scenarios: dict[str, Scenario] = Field(default_factory=dict)

    def all_targets(self) -> dict[str, Target]:
        """The file's targets, plus the implied `local` bundled target if the file does not define it."""
        targets: dict[str, Target] = {}
        if DEFAULT_TARGET not in self.targets:
            targets[DEFAULT_TARGET] = BundledTarget()
        targets.update(self.targets)
        return targets

    def scenario_targets(self, name: str) -> list[str]:
        chosen = self.scenarios[name].targets
        return list(chosen) if chosen is not None else list(self.all_targets())

    def suite(self, profile: str) -> list[str]:
        """Scenario names `run` executes for a profile when none are named."""
        chosen = _pick(self.profiles, profile, "profile").scenarios
        return list(chosen) if chosen is not None else list(self.scenarios)


# ---- the resolved plan --------------------------------------------------------------------


class PlannedFault(BaseModel):
    id: str
    call: ActionCall
    at_s: float  # after the start of the inject phase, scaled


class PlannedRemediation(BaseModel):
    call: ActionCall
    when: Trigger
    delay_s: float  # scaled
    by: Performer = Performer.HARNESS
    runbook: str | dict[str, str] | None = None
    operator_timeout_s: float | None = None  # scaled; None: the RTO

    @property
    def by_operator(self) -> bool:
        return self.by is Performer.OPERATOR

    @property
    def by_engine(self) -> bool:
        return self.call.name in ENGINE_ACTIONS


class PlannedStop(BaseModel):
    metric: StopMetric
    threshold: float
    for_s: float  # scaled

    def breached(self, value: float) -> bool:
        if self.metric is StopMetric.RPS_BELOW:
            return value < self.threshold
        return value > self.threshold


class DrillPlan(BaseModel):
    """Everything the engine needs for one drill; seconds are floats, already scaled by the profile."""

    scenario: str
    description: str
    profile: str
    time_scale: float
    target_name: str
    target: TargetSpec
    rto_s: float | None
    rpo_s: float | None
    baseline_s: float
    sustained_s: float
    max_duration_s: float | None
    load: LoadPlan
    slo: Slo
    detection: AlarmRule
    setup: list[ActionCall]
    teardown: list[ActionCall] = []
    faults: list[PlannedFault]
    remediations: list[PlannedRemediation]
    stop_conditions: list[PlannedStop]
    checks: list[CheckName]
    expect: Expect
    load_url: str | None = None  # where the load goes, if not the session's URL (a region drill: the failover name)

    @property
    def expected_to_fail(self) -> bool:
        return self.expect is Expect.FAIL

    def effective_waits(self) -> dict[str, float | None]:
        """Every wait and limit of the drill as it will run (already scaled), by name."""
        detects = any(c.value == "detection" for c in self.checks) or any(
            r.when is Trigger.ON_DETECTION for r in self.remediations
        )
        waits: dict[str, float | None] = {
            "baseline": self.baseline_s,
            "sustained": self.sustained_s,
            "rto": self.rto_s,
            "rpo": self.rpo_s,
            "max duration": self.max_duration_s,
            "detection period": self.detection.period_s if detects else None,
            "alarm metric delay": self.detection.metric_delay_s if detects else None,
            "alarm evaluation interval": self.detection.interval_s if detects else None,
        }
        waits.update({f"fault {f.id} at": f.at_s for f in self.faults if f.at_s})
        waits.update({f"{r.call.name} delay": r.delay_s for r in self.remediations if r.delay_s})
        waits.update({f"stop {s.metric.value} for": s.for_s for s in self.stop_conditions})
        return waits

    def timing_warnings(self) -> list[str]:
        """The target platform's documented delays that a scaled wait of this drill is shorter than."""
        return self.target.timing_warnings([c.name for c in self.provider_calls()], self.effective_waits())

    def time_scale_refusal(self) -> str | None:
        """Why `run` refuses this drill's time scale on its target (None: it does not)."""
        least = self.target.least_time_scale
        if self.time_scale >= least:
            return None
        reasons = self.timing_warnings() or ["its waits would end before the platform has acted"]
        return (
            f"profile {self.profile!r} scales every wait by {self.time_scale:g}, below the {least:g} target "
            f"{self.target_name!r} allows (min_time_scale): " + "; ".join(reasons) + ". Use a profile with "
            f"time_scale >= {least:g} (e.g. --profile {self.target.default_profile}), or pass --force-time-scale "
            f"to measure the harness rather than the system"
        )

    def provider_calls(self) -> list[ActionCall]:
        """Every call the target's provider performs (for preflight); engine-level actions excluded."""
        calls = [*self.setup, *(f.call for f in self.faults), *self.teardown]
        calls += [r.call for r in self.remediations if r.when is not Trigger.NEVER]
        return [c for c in calls if c.name not in ENGINE_ACTIONS]


# ---- merging and resolving ----------------------------------------------------------------

LOAD_ALLOWANCE_S = 60.0
SHAPE_WAITS = ("ramp_s", "step_s", "spike_at_s", "spike_s")


def deep_merge(base: Block, override: Block) -> Block:
    merged: Block = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def merged_load(config: Config, profile: Profile, scenario: Scenario) -> Block:
    return deep_merge(deep_merge(config.defaults.load, profile.load), scenario.load)


def resolve(
    config: Config,
    scenario_name: str,
    profile_name: str,
    target_name: str,
    *,
    allow_protected: bool = False,
) -> DrillPlan:
    """One scenario, for one profile and target, as a DrillPlan. Raises InvalidInputError on bad names."""
    scenario = _pick(config.scenarios, scenario_name, "scenario")
    profile = _pick(config.profiles, profile_name, "profile")
    target = _pick(config.all_targets(), target_name, "target")
    allowed = config.scenario_targets(scenario_name)
    if target_name not in allowed:
        raise InvalidInputError(
            f"scenario {scenario_name!r} does not run on target {target_name!r} (its targets: {', '.join(allowed)})"
        )
    if target.protected and not allow_protected:
        raise InvalidInputError(f"target {target_name!r} is protected: pass --allow-protected to run against it")
    k = profile.time_scale

    def scaled(seconds: float | None) -> float | None:
        return None if seconds is None else seconds * k

    load_block = merged_load(config, profile, scenario)
    try:
        load = LoadPlan.model_validate(load_block)
        slo = Slo.model_validate(deep_merge(config.defaults.slo, scenario.slo))
        detection = AlarmRule.model_validate(deep_merge(config.defaults.detection, scenario.detection))
    except ValueError as exc:  # the loader rejects these first; a hand-built Config may not have been
        raise InvalidInputError(f"scenario {scenario_name!r} with profile {profile_name!r}: {exc}") from None
    max_duration_s = scaled(scenario.max_duration)
    # Unless the file bounds the load, it must outlast the drill (the engine stops it when the drill
    # ends): baseline and the drill's bound, plus a fixed allowance for warm-up and the last samples.
    if "duration_s" in load_block:
        duration_s = load.duration_s * k
    else:
        duration_s = (scenario.baseline + (scenario.max_duration or scenario.sustained)) * k + LOAD_ALLOWANCE_S
    shape = load.shape.model_copy(update={w: getattr(load.shape, w) * k for w in SHAPE_WAITS})
    load = load.model_copy(update={"duration_s": duration_s, "shape": shape})
    detection = detection.scaled(k)  # period, metric delay and evaluation interval, like every other wait

    return DrillPlan(
        scenario=scenario_name,
        description=scenario.description,
        profile=profile_name,
        time_scale=k,
        target_name=target_name,
        target=target,
        rto_s=scaled(scenario.rto),
        rpo_s=scaled(scenario.rpo),
        baseline_s=scenario.baseline * k,
        sustained_s=scenario.sustained * k,
        max_duration_s=max_duration_s,
        load=load,
        slo=slo,
        detection=detection,
        setup=[s.call() for s in scenario.setup],
        teardown=[s.call() for s in scenario.teardown],
        faults=[PlannedFault(id=f.fault_id, call=f.call(), at_s=f.at * k) for f in scenario.faults],
        remediations=_remediations(scenario, profile, target, target_name, k),
        stop_conditions=[
            PlannedStop(metric=m, threshold=v, for_s=s.for_ * k) for s in scenario.stop_conditions for m, v in s.metrics()
        ],
        checks=list(scenario.checks),
        expect=scenario.expect,
        load_url=target.load_url(
            [step.action for step in (*scenario.setup, *scenario.faults, *scenario.remediation, *scenario.teardown)]
        ),
    )


def _remediations(scenario: Scenario, profile: Profile, target: Target, target_name: str,
                  k: float) -> list[PlannedRemediation]:
    steps = [
        PlannedRemediation(
            call=r.call(), when=r.when, delay_s=r.delay * k, runbook=r.runbook,
            by=profile.remediation_by if profile.remediation_by and r.runbook else r.by,
            operator_timeout_s=None if r.operator_timeout is None else r.operator_timeout * k,
        )
        for r in scenario.remediation
    ]
    # A person's step counts only if the harness can see it done on this target (its provider's `observe`).
    paged = [s.call.name for s in steps if s.by_operator]
    if paged:
        observable = getattr(provider_class(target.kind), "observable_actions", frozenset())
        unseen = sorted(set(paged) - observable)
        if unseen:
            raise InvalidInputError(
                f"target {target_name!r} ({target.kind}) cannot observe an operator's {', '.join(unseen)}: "
                f"the harness would never see the step done; run it by: harness there "
                f"(it can observe: {', '.join(sorted(observable)) or 'nothing'})"
            )
    return steps


def _pick(items: dict[str, _T], name: str, what: str) -> _T:
    try:
        return items[name]
    except KeyError:
        known = ", ".join(items) or "none"
        hint = difflib.get_close_matches(name, list(items), n=1)
        maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise InvalidInputError(f"unknown {what} {name!r}{maybe}; the file has: {known}") from None

