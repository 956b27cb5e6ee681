"""`list`, `validate` and `plan`: read the scenario file and say what a drill would do, touching nothing.

(`run` and `cleanup` live in `scenarios.drill_commands`.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from chaos.actions import ENGINE_ACTIONS, ActionCall
from chaos.provider import Provider
from chaos.targets import Target
from common.durations import format_duration as fmt
from common.errors import ExitCode
from loadtests.plan import LoadModel, LoadPlan
from scenarios.cli_options import DEFAULT_FILE, add_file, add_profile, add_target, chosen_profile
from scenarios.gameday.runbook import template_for
from scenarios.loader import load_config
from scenarios.models import Config, DrillPlan, PlannedRemediation, Trigger, resolve
from scenarios.plan_detection import print_detection
from scenarios.target_choice import choose_target, require_control, with_target
from scenarios.target_kinds import provider_class

# ---- list ---------------------------------------------------------------------------------


def list_config(config: Config, out: TextIO) -> None:
    rows = []
    for name, sc in config.scenarios.items():
        rto = fmt(sc.rto) if sc.rto is not None else "-"
        rpo = fmt(sc.rpo) if sc.rpo is not None else "-"
        note = " (expected to fail)" if sc.expect.value == "fail" else ""
        rows.append((name, rto, rpo, sc.description + note))
    _table(out, "scenarios", ("NAME", "RTO", "RPO", "DESCRIPTION"), rows)
    rows = []
    for name, profile in config.profiles.items():
        suite = ", ".join(config.suite(name))
        rows.append((name, f"{profile.time_scale:g}", suite, profile.description))
    _table(out, "profiles", ("NAME", "TIME_SCALE", "SUITE", "DESCRIPTION"), rows)
    rows = []
    for name, target in config.all_targets().items():
        implied = "" if name in config.targets else " (implied)"
        rows.append((name, target.kind, "yes" if target.protected else "no", _where(target) + implied))
    _table(out, "targets", ("NAME", "KIND", "PROTECTED", "WHERE"), rows)


def _where(target: Target) -> str:
    return target.endpoint or "started on 127.0.0.1 by the harness, stopped after"


def _table(out: TextIO, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"{title}:", file=out)
    if not rows:
        print("  (none)", file=out)
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]
        print("  " + "  ".join(cells).rstrip(), file=out)
    print(file=out)


# ---- plan ---------------------------------------------------------------------------------


def describe_call(call: ActionCall) -> str:
    params = ", ".join(f"{k}={v}" for k, v in call.params.items())
    return f"{call.name}({params})"


def _trigger(when: Trigger, delay_s: float) -> str:
    if when is Trigger.NEVER:
        return "never (not run: documented runbook step)"
    anchor = "on detection" if when is Trigger.ON_DETECTION else "after the first fault"
    return anchor if delay_s == 0 else f"{fmt(delay_s)} {anchor.replace('on ', 'after ')}"


def _load_line(load: LoadPlan) -> str:
    rate = f"{load.rps:g} RPS arrivals" if load.model is LoadModel.OPEN else f"{load.users} users, think {fmt(load.think_time_s)}"
    shape = "" if load.shape.kind.value == "constant" else f", {load.shape.kind.value} shape"
    return (
        f"{load.model.value} model, {rate}{shape}, {load.workers} worker process(es), {load.accounts} accounts, "
        f"request timeout {fmt(load.request_timeout_s)}, at most {fmt(load.duration_s)}"
    )


def _slo_line(plan: DrillPlan) -> str:
    slo = plan.slo
    parts = [f"p90 < {slo.p90_ms:g} ms", f"p95 < {slo.p95_ms:g} ms"]
    if slo.p99_ms is not None:
        parts.append(f"p99 < {slo.p99_ms:g} ms")
    parts.append(f"errors < {_pct(slo.error_rate)}")
    if slo.min_rps is not None:
        parts.append(f">= {slo.min_rps:g} RPS")
    return ", ".join(parts)


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.6g}%"


def _alarm_line(plan: DrillPlan) -> str:
    return plan.detection.describe()


class _ProviderView:
    """The provider built without I/O, only to ask it for `plan(call)` lines; its absence is reported."""

    def __init__(self, plan: DrillPlan) -> None:
        self.provider: Provider | None = None
        self.problem = ""
        try:
            self.provider = provider_class(plan.target.kind)(plan.target)
        except Exception as exc:  # not importable yet, or needs run-time data (control URL, token)
            self.problem = f"{type(exc).__name__}: {exc}"

    @property
    def name(self) -> str:
        return self.provider.name if self.provider is not None else f"not available ({self.problem})"

    def lines(self, call: ActionCall) -> list[str]:
        if call.name in ENGINE_ACTIONS:
            ref = call.params.get("fault")
            return [f"engine: revert fault {ref!r} now, with the provider's revert of that fault"]
        if self.provider is None:
            return ["(operations not shown: the provider is not available)"]
        try:
            return list(self.provider.plan(call))
        except Exception as exc:
            return [f"(the provider cannot plan this: {type(exc).__name__}: {exc})"]

    def close(self) -> None:
        if self.provider is not None:
            try:
                self.provider.close()
            except Exception:
                pass  # nothing was opened; a plan must not fail on the way out


def print_plan(plan: DrillPlan, out: TextIO, *, source: str = "") -> None:
    view = _ProviderView(plan)
    try:
        _print_plan(plan, view, out, source)
    finally:
        view.close()


def _print_plan(plan: DrillPlan, view: _ProviderView, out: TextIO, source: str) -> None:
    def say(text: str = "") -> None:
        print(text, file=out)

    target = plan.target
    say(f"plan: {plan.scenario}" + (f" - {plan.description}" if plan.description else ""))
    if source:
        say(f"  file      {source}")
    say(f"  profile   {plan.profile} (time_scale {plan.time_scale:g}: every wait and limit below is scaled)")
    protected = ", protected: `run` needs --allow-protected" if target.protected else ""
    say(f"  target    {plan.target_name} ({target.kind}: {_where(target)}{protected})")
    say(f"  provider  {view.name}")
    say(f"  expect    {plan.expect.value}" + (" (a negative control: the suite fails if it passes)" if plan.expected_to_fail else ""))
    say("  nothing is touched by `plan`")
    say()

    faults = plan.faults
    say("phases:")
    steps = [
        ("preflight", f"the provider checks it can do and undo {len(plan.provider_calls())} action(s); injects nothing"),
        ("seed", "set up load accounts" + (f"; setup: {', '.join(describe_call(c) for c in plan.setup)}" if plan.setup else "")),
        ("load", _load_line(plan.load) + (f"; sent to {plan.load_url} (the clients' path)" if plan.load_url else "")),
        ("baseline", f"{fmt(plan.baseline_s)} (after warm-up): the SLO must hold before any fault, else abort"),
    ]
    if faults:
        firsts = "; ".join(f"t+{fmt(f.at_s)} {f.id}" for f in faults)
        steps.append(("inject", f"journal, then inject: {firsts}"))
        steps.append(("detect", f"alarm: {_alarm_line(plan)}"))
        runs = [r for r in plan.remediations if r.when is not Trigger.NEVER]
        steps.append(("remediate", "; ".join(f"{r.call.name} {_trigger(r.when, r.delay_s)}"
                                             + (" (paged to the on-call)" if r.by_operator else "") for r in runs)
                      or "nothing (self-healing)"))
        rto = f"RTO {fmt(plan.rto_s)}" if plan.rto_s is not None else "no RTO"
        bound = f"; gives up {fmt(plan.max_duration_s)} after the inject phase starts" if plan.max_duration_s else ""
        steps.append(("recover", f"SLO held for {fmt(plan.sustained_s)} = recovered; {rto}{bound}"))
    steps.append(("verify", "checks: " + ", ".join(c.value for c in plan.checks)))
    steps.append(("revert", "undo every injected fault, newest first: " + (", ".join(f.id for f in reversed(faults)) or "none")))
    steps.append(("report", "journal.json and reports in the run directory"))
    for number, (name, text) in enumerate(steps, 1):
        say(f"  {number:>2}. {name:<10} {text}")
    say()

    say(f"SLO: {_slo_line(plan)}; availability >= {_pct(plan.slo.availability)}")
    if plan.rpo_s is not None:
        say(f"RPO: {fmt(plan.rpo_s)} (no acknowledged write older than this may be lost)")
    say()
    print_detection(plan, say)
    _print_waits(plan, say)
    if plan.setup:
        say("setup (before the load, not reverted):")
        for call in plan.setup:
            _call_block(say, describe_call(call), view.lines(call))
    say("faults:" if faults else "faults: none")
    for fault in faults:
        _call_block(say, f"{fault.id}: {describe_call(fault.call)} at t+{fmt(fault.at_s)}", view.lines(fault.call))
    say("remediation:" if plan.remediations else "remediation: none")
    for step in plan.remediations:
        lines = _operator_lines(plan, step) if step.by_operator else view.lines(step.call)
        _call_block(say, f"{describe_call(step.call)} {_trigger(step.when, step.delay_s)}", lines)
    say("stop conditions:" if plan.stop_conditions else "stop conditions: none")
    for stop in plan.stop_conditions:
        say(f"  abort and revert if {stop.metric.value.replace('_', ' ')} {stop.threshold:g} for {fmt(stop.for_s)}")
    if plan.teardown:
        say("teardown (after every fault is reverted):")
        for call in plan.teardown:
            _call_block(say, describe_call(call), view.lines(call))


def _print_waits(plan: DrillPlan, say: Callable[[str], None]) -> None:
    """The waits as this run will wait them, and where the target's platform needs longer."""
    waits = {name: s for name, s in plan.effective_waits().items() if s is not None}
    say(f"waits (after time_scale {plan.time_scale:g}):")
    width = max(map(len, waits), default=0)
    for name, seconds in waits.items():
        unscaled = f"  ({fmt(seconds / plan.time_scale)} in the file)" if plan.time_scale != 1 else ""
        say(f"  {name:<{width}}  {fmt(seconds):>7}{unscaled}".rstrip())
    warnings = plan.timing_warnings()
    if plan.time_scale_refusal():
        warnings.append(
            f"`run` refuses time_scale {plan.time_scale:g} on target {plan.target_name!r}, whose min_time_scale is "
            f"{plan.target.least_time_scale:g} (--force-time-scale runs it anyway)"
        )
    for warning in warnings:
        say(f"  warning: {warning}")
    say()


def _operator_lines(plan: DrillPlan, step: PlannedRemediation) -> list[str]:
    """A game-day step: what the on-call is paged with, and when the harness takes over."""
    runbook = template_for(step.runbook, plan.target.kind) or step.call.name
    limit = (f"{fmt(step.operator_timeout_s)} after the page" if step.operator_timeout_s is not None
             else f"the RTO ({fmt(plan.rto_s)} after the fault)" if plan.rto_s is not None else "the drill's end")
    return [
        "page the on-call (console; HANBIT_DRILL_PAGE_URL if set) with the runbook:",
        f"  {runbook}",
        "wait for `hanbit-drill ack` and for the runbook's action on the target",
        f"nobody acted by {limit}: the harness performs the step itself and the RTO check fails",
    ]


def _call_block(say: Callable[[str], None], head: str, lines: Sequence[str]) -> None:
    say(f"  - {head}")
    for line in lines:
        say(f"      {line}")


# ---- the commands -------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    list_config(load_config(args.file), sys.stdout)
    return ExitCode.PASSED


def _validate(args: argparse.Namespace) -> int:
    args.file = args.file_arg or args.file
    config = load_config(args.file)  # raises ScenarioFileError listing every problem (exit 2)
    print(
        f"{args.file}: OK ({len(config.scenarios)} scenarios, {len(config.profiles)} profiles, "
        f"{len(config.all_targets())} targets)"
    )
    return ExitCode.PASSED


def _plan(args: argparse.Namespace) -> int:
    # A provider that cannot be loaded yet does not stop a plan: the plan says so instead.
    config = load_config(args.file, require_providers=False)
    choice = choose_target(config, args.target, allow_protected=True)
    require_control(choice, args.file)
    profile = chosen_profile(args.profile, choice.target)
    plan = resolve(with_target(config, choice), args.scenario, profile, choice.name, allow_protected=True)
    print_plan(plan, sys.stdout, source=args.file)
    return ExitCode.PASSED


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("list", help="scenarios (RTO, RPO), profiles and targets of the file")
    add_file(listing)
    listing.set_defaults(func=_list)

    validate = subparsers.add_parser("validate", help="check a scenario file; every problem as FILE:LINE: path: message")
    validate.add_argument("file_arg", nargs="?", metavar="FILE", help=f"the scenario file (default: {DEFAULT_FILE})")
    add_file(validate)
    validate.set_defaults(func=_validate)

    plan = subparsers.add_parser("plan", help="print what a drill would inject and undo, touching nothing")
    plan.add_argument("scenario", metavar="SCENARIO")
    add_file(plan)
    add_profile(plan)
    add_target(plan)
    plan.set_defaults(func=_plan)

