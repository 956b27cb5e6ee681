"""`hanbit-drill capacity`, `hanbit-drill soak` and `hanbit-drill quarterly` (capacity + soak + seed targets).

The target comes from the scenario file (default `local`: a bundled service started for the run and
stopped after it); the SLO and the load settings (workers, accounts, timeouts) are the file's
defaults. `quarterly` takes its load from the `quarterly` profile: `rps` and `users` are the seed
targets, `users`/`think_time_s` the soak's population, `duration_s` the soak's length, and
`time_scale` shrinks every hold and the soak for a smoke run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console

from common.errors import CheckFailedError, ExitCode, InvalidInputError
from loadtests.plan import LoadModel, LoadPlan
from scenarios.capacity import CapacityConfig, CapacitySearch, capacity_config
from scenarios.cli_options import (
    absolute_path,
    add_allow_protected,
    add_file,
    add_profile,
    add_report_dir,
    add_target,
    duration,
    history_dir,
    new_run_dir,
    shown,
)
from scenarios.drill_load import for_target
from scenarios.loader import load_config
from scenarios.models import Config, deep_merge
from scenarios.soak import Soak
from scenarios.target_choice import TargetChoice, choose_target, open_session
from scenarios.target_session import TargetSession
from verify.capacity import CapacityResult, SearchMode, StepResult
from verify.capacity_history import CAPACITY_FILE, CapacityComparison, CapacityHistory
from verify.capacity_report import (
    QuarterlyReport,
    SeedTargets,
    render_console,
    seed_checks,
    write_html,
)
from verify.history import REGRESSION_RATIO
from verify.slo import Slo
from verify.soak import SoakConfig, SoakResult

QUARTERLY_PROFILE = "quarterly"
CAPACITY_HOLD_S = 60.0  # per step at time_scale 1
CAPACITY_STEPS = 20  # quarterly: max-rps = 2 x the seed rate, in 20 steps
MIN_HOLD_S = 3.0  # a scaled hold still judges at least two whole seconds after a 1 s settle


# ---- target and settings from the scenario file ----------------------------------------------


def _settings(config: Config, profile: str | None) -> tuple[Slo, LoadPlan, float]:
    block = config.defaults.load
    scale = 1.0
    if profile is not None:
        if profile not in config.profiles:
            raise InvalidInputError(f"unknown profile {profile!r}; the file has: {', '.join(config.profiles) or 'none'}")
        block = deep_merge(block, config.profiles[profile].load)
        scale = config.profiles[profile].time_scale
    try:
        return Slo.model_validate(config.defaults.slo), LoadPlan.model_validate(block), scale
    except ValidationError as exc:
        raise InvalidInputError(f"the file's load or SLO defaults: {exc.errors()[0]['msg']}") from None


def _with(load: LoadPlan, update: dict[str, object]) -> LoadPlan:
    try:
        return LoadPlan.model_validate({**load.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InvalidInputError(f"load: {'.'.join(str(p) for p in err['loc']) or 'plan'}: {err['msg']}") from None


def _trusting(load: LoadPlan, choice: TargetChoice, args: argparse.Namespace) -> LoadPlan:
    """The load as the target needs it: the CA an https target's certificate is checked against
    (--ca-bundle, else the file's `load:` block's, else the target's own, else the system's trust store),
    and how its accounts sign in (the `load:` block's auth, else the target's Cognito pool)."""
    load = for_target(load, choice.target)
    return load.model_copy(update={"ca_bundle": str(args.ca_bundle)}) if args.ca_bundle else load


def _service_pid(session: TargetSession) -> int | None:
    """The bundled service's supervisor, started by us or already running: its memory is measured."""
    process = session.service_process()
    return process.pid if process is not None else None


def _print_step(console: Console) -> Callable[[StepResult], None]:
    def show(step: StepResult) -> None:
        verdict = "[green]met[/]" if step.met else f"[red]{step.broke_because}[/]: {'; '.join(step.reasons)}"
        console.print(f"  {step.rate_rps:>8,.0f} RPS  achieved {step.achieved_rps:>7,.0f}  p90 {step.p90_ms:>7,.1f} ms  "
                      f"p95 {step.p95_ms:>7,.1f} ms  errors {step.error_rate:>6.2%}  {verdict}")
    return show


# ---- the runs -------------------------------------------------------------------------------


def _capacity_config(args: argparse.Namespace, slo: Slo, load: LoadPlan) -> CapacityConfig:
    if not 0 < args.threshold < 1:
        raise InvalidInputError(f"--threshold must be between 0 and 1 (a share), not {args.threshold:g}")
    return capacity_config(args.max_rps, args.step, args.hold, settle_s=args.settle, slo=slo, load=load,
                           mode=SearchMode.BISECT if args.bisect else SearchMode.LINEAR)


def run_capacity(url: str, target: str, args: argparse.Namespace, config: CapacityConfig, run_dir: Path,
                 console: Console) -> tuple[CapacityResult, CapacityComparison]:
    console.print(f"[bold]capacity[/] {target}: {config.mode.value} up to {config.max_rps:,.0f} RPS in steps of "
                  f"{config.step_rps:,.0f}, hold {config.hold_s:g} s (settle {config.settle:g} s)")
    result = CapacitySearch(url, config, run_dir / "capacity", target=target, on_step=_print_step(console)).run()
    history = CapacityHistory(_history(args))
    comparison = history.compare(result, args.threshold)
    history.append(result)
    return result, comparison


def run_soak(url: str, target: str, pid: int | None, load: LoadPlan, slo: Slo, run_dir: Path,
             console: Console) -> SoakResult:
    what = f"{load.users:,} users" if load.model is LoadModel.CLOSED else f"{load.rps:,.0f} RPS"
    console.print(f"[bold]soak[/] {target}: {what} for {load.duration_s:,.0f} s"
                  + ("" if pid else " (no service process visible: memory not measured)"))
    return Soak(url, SoakConfig(load=load, slo=slo), run_dir / "soak", target=target, service_pid=pid).run()


def _write_outputs(report: QuarterlyReport, payload: dict, args: argparse.Namespace, run_dir: Path,
                   console: Console) -> None:
    json_path = args.json or run_dir / "result.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    html = write_html(report, args.html or run_dir / "report.html")
    console.print(f"wrote {shown(json_path)} and {shown(html)}", soft_wrap=True)


# ---- commands -------------------------------------------------------------------------------


def _target(config: Config, args: argparse.Namespace) -> TargetChoice:
    return choose_target(config, args.target, allow_protected=args.allow_protected)


def _history(args: argparse.Namespace) -> Path:
    return args.history or history_dir(args.report_dir) / CAPACITY_FILE


def _capacity(args: argparse.Namespace) -> int:
    console = Console()
    config = load_config(args.file, require_providers=False)
    slo, load, _ = _settings(config, None)
    if args.workers:
        load = load.model_copy(update={"workers": args.workers})
    choice = _target(config, args)
    # Bad arguments stop here, before a service starts.
    search = _capacity_config(args, slo, _trusting(load, choice, args))
    run_dir = new_run_dir(args.report_dir, "capacity")
    with open_session(choice, run_dir) as session:
        result, comparison = run_capacity(session.api_url, choice.name, args, search, run_dir, console)
    report = QuarterlyReport(title="Capacity search", target=choice.name, capacity=result, comparison=comparison)
    render_console(report, console)
    payload = {**result.model_dump(mode="json"), "comparison": comparison.model_dump(mode="json")}
    _write_outputs(report, payload, args, run_dir, console)
    if comparison.regressed and args.fail_on_regression:
        raise CheckFailedError(f"capacity regressed on {choice.name}: knee {result.knee_rps} RPS")
    return ExitCode.PASSED


def _soak(args: argparse.Namespace) -> int:
    console = Console()
    config = load_config(args.file, require_providers=False)
    slo, load, _ = _settings(config, None)
    update: dict[str, object] = {"duration_s": args.duration}
    if args.users:
        update.update(model=LoadModel.CLOSED, users=args.users, think_time_s=args.think_time)
    elif args.rps:
        update.update(model=LoadModel.OPEN, rps=args.rps)
    if args.workers:
        update["workers"] = args.workers
    load = _with(load, update)
    choice = _target(config, args)
    load = _trusting(load, choice, args)
    run_dir = new_run_dir(args.report_dir, "soak")
    with open_session(choice, run_dir) as session:
        result = run_soak(session.api_url, choice.name, _service_pid(session), load, slo, run_dir, console)
    report = QuarterlyReport(title="Soak", target=choice.name, soak=result)
    render_console(report, console)
    _write_outputs(report, result.model_dump(mode="json"), args, run_dir, console)
    return ExitCode.CHECK_FAILED if result.drifted or result.slo_violations else ExitCode.PASSED


def _quarterly(args: argparse.Namespace) -> int:
    console = Console()
    config = load_config(args.file, require_providers=False)
    slo, load, scale = _settings(config, args.profile)
    scale = args.time_scale or scale
    # The seed targets are the profile's figures; --users/--think-time only change the soak's population.
    seed = SeedTargets(min_rps=load.rps or SeedTargets().min_rps, min_users=load.users or SeedTargets().min_users,
                       p90_ms=slo.p90_ms)
    args.max_rps = args.max_rps or 2 * seed.min_rps
    args.step = args.step or args.max_rps / CAPACITY_STEPS
    args.hold = args.hold or max(CAPACITY_HOLD_S * scale, MIN_HOLD_S)
    update: dict[str, object] = {"duration_s": max(load.duration_s * scale, 2 * MIN_HOLD_S)}
    if args.users:
        update.update(model=LoadModel.CLOSED, users=args.users)
    if args.think_time is not None:
        update["think_time_s"] = args.think_time
    if args.workers:
        update["workers"] = args.workers
    choice = _target(config, args)
    soak_load = _trusting(_with(load, update), choice, args)
    search = _capacity_config(args, slo, soak_load)
    run_dir = new_run_dir(args.report_dir, "quarterly")
    with open_session(choice, run_dir) as session:
        capacity, comparison = run_capacity(session.api_url, choice.name, args, search, run_dir, console)
        soak = None if args.skip_soak else run_soak(session.api_url, choice.name, _service_pid(session), soak_load,
                                                     slo, run_dir, console)
    report = QuarterlyReport(target=choice.name, profile=args.profile, capacity=capacity, comparison=comparison,
                             soak=soak, seed=seed_checks(capacity, soak, seed))
    render_console(report, console)
    _write_outputs(report, report.model_dump(mode="json"), args, run_dir, console)
    for problem in report.problems:
        console.print(f"[bold red]{problem}[/]")
    return ExitCode.CHECK_FAILED if report.problems else ExitCode.PASSED


def _common(parser: argparse.ArgumentParser) -> None:
    add_file(parser)
    add_target(parser)
    add_allow_protected(parser)
    parser.add_argument("--workers", type=int, help="Locust worker processes (default: the file's)")
    parser.add_argument("--ca-bundle", type=absolute_path, metavar="FILE",
                        help="https: trust the CAs in this PEM file instead of the system's (default: the target's)")
    parser.add_argument("--json", metavar="FILE", type=absolute_path,
                        help="write the result here (default: RUN_DIR/result.json)")
    parser.add_argument("--html", metavar="FILE", type=absolute_path,
                        help="write the HTML report here (default: RUN_DIR/report.html)")
    add_report_dir(parser)


def _capacity_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--max-rps", type=float, default=None if not required else 2000.0,
                        help="highest rate tried" + (" (default: %(default)s)" if required else " (default: 2 x rps)"))
    parser.add_argument("--step", type=float, default=None if not required else 100.0,
                        help="rate increment" + (" (default: %(default)s)" if required else " (default: max/20)"))
    parser.add_argument("--hold", type=duration, default=None if not required else CAPACITY_HOLD_S,
                        help="time per step, e.g. 60s" + (" (default: 60s)" if required else " (default: 60s x time_scale)"))
    parser.add_argument("--settle", type=duration, help="time not judged at each step start (default: hold/5, 1s..10s)")
    parser.add_argument("--bisect", action="store_true", help="search by bisection instead of linear steps")
    parser.add_argument("--history", type=absolute_path,
                        help="capacity history (default: REPORT_DIR/history/capacity.jsonl)")
    parser.add_argument("--threshold", type=float, default=REGRESSION_RATIO,
                        help="a knee lower by more than this share is a regression (default: %(default)s)")


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    capacity = subparsers.add_parser("capacity", help="raise the arrival rate in steps until the SLO breaks: the knee")
    _common(capacity)
    _capacity_args(capacity, required=True)
    capacity.add_argument("--fail-on-regression", action="store_true", help="exit 1 if the knee regressed")
    capacity.set_defaults(func=_capacity)

    soak = subparsers.add_parser("soak", help="a long constant load: latency/error drift and service memory growth")
    _common(soak)
    soak.add_argument("--rps", type=float, help="open model: arrivals per second (default: the file's)")
    soak.add_argument("--users", type=int, help="closed model: concurrent users")
    soak.add_argument("--think-time", type=duration, default=10.0, help="closed model: time between a user's requests (default 10s)")
    soak.add_argument("--duration", type=duration, default=3600.0, help="how long, e.g. 1h (default 1h)")
    soak.set_defaults(func=_soak)

    quarterly = subparsers.add_parser("quarterly", help="the quarterly load test: capacity + soak + seed targets")
    _common(quarterly)
    _capacity_args(quarterly, required=False)
    add_profile(quarterly, QUARTERLY_PROFILE)
    quarterly.add_argument("--time-scale", type=float, help="override the profile's time_scale (e.g. 0.05 for smoke)")
    quarterly.add_argument("--users", type=int, help="soak with this many users (the seed target stays the profile's)")
    quarterly.add_argument("--think-time", type=duration, help="soak think time, e.g. 10s (default: the profile's)")
    quarterly.add_argument("--skip-soak", action="store_true", help="capacity only")
    quarterly.set_defaults(func=_quarterly)
