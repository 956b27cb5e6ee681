"""`hanbit-drill load` (run load alone, live progress, summary) and `hanbit-drill worker` (join a master)."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from common.errors import InvalidInputError, ScenarioFileError, TargetError
from loadtests.plan import LoadModel, LoadPlan, ShapeKind
from loadtests.records import SecondSample
from loadtests.runner import LoadRunner, locust_command, locust_env
from loadtests.summary import LoadSummary
from scenarios.cli_options import (
    absolute_path,
    add_allow_protected,
    add_file,
    add_report_dir,
    add_target,
    duration,
    new_run_dir,
    shown,
)
from scenarios.drill_load import for_target
from scenarios.problems import PathT, Problems
from scenarios.salvage import normalize_durations
from scenarios.target_choice import choose_target, open_session, optional_config
from scenarios.yaml_lines import read_yaml

DEFAULT_MASTER_PORT = 5557  # Locust's own default


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    load = subparsers.add_parser(
        "load",
        help="run load alone against a target and print a summary",
        description="Drive the todo journeys at a fixed rate (--rps, open model) or with a population of "
        "users (--users, closed model), show each second live and print a summary. Without --target the "
        "bundled service is started on 127.0.0.1 for the run.",
    )
    level = load.add_mutually_exclusive_group()
    level.add_argument("--rps", type=float, help="open model: arrivals per second")
    level.add_argument("--users", type=int, help="closed model: concurrent simulated users")
    load.add_argument("--think-time", type=duration, help="closed model: mean time between a user's requests (default 1s)")
    load.add_argument("--duration", type=duration, help="how long, e.g. 60s, 5m (default 60s)")
    load.add_argument("--shape", choices=[k.value for k in ShapeKind], help="load shape (default constant)")
    add_target(load)
    add_allow_protected(load)
    add_file(load)
    load.add_argument("--workers", type=int, help="Locust worker processes on this machine (default 1)")
    load.add_argument("--accounts", type=int, help="size of the pre-created account pool (default 50)")
    load.add_argument("--timeout", type=duration, help="request deadline from its intended send time (default 5s)")
    load.add_argument("--signin-storm", action="store_true", help="every simulated user signs in itself")
    load.add_argument("--plan", type=absolute_path, help="YAML/JSON file with a `load:` block (flags override it)")
    load.add_argument("--ca-bundle", type=absolute_path, metavar="FILE",
                      help="https: trust the CAs in this PEM file instead of the system's (a private or test CA)")
    load.add_argument("--json", type=absolute_path, help="write the summary as JSON to this file")
    add_report_dir(load, aliases=())
    # Before the runs directory was shared: this exact directory for the stream, ledger and logs.
    load.add_argument("--run-dir", type=absolute_path, help=argparse.SUPPRESS)
    load.add_argument("--remote-workers", type=int, default=0, help="also wait for this many `worker` processes")
    load.add_argument("--master-bind", default="127.0.0.1", help="address remote workers connect to")
    load.add_argument("--master-port", type=int, default=0, help="port for workers (default: a free one)")
    load.set_defaults(func=run_load)

    worker = subparsers.add_parser(
        "worker",
        help="join a running `load` (or drill) as extra Locust worker processes",
        description="Start Locust workers on this machine that join the master of a running load test "
        "(see docs/load.md). The master hands them the plan, target and accounts.",
    )
    worker.add_argument("--master", required=True, help="host of the machine running `hanbit-drill load`")
    worker.add_argument("--master-port", type=int, default=DEFAULT_MASTER_PORT)
    worker.add_argument("--processes", type=int, default=1, help="worker processes to start here")
    worker.set_defaults(func=run_worker)


def read_plan_file(path: Path, shown_as: str) -> tuple[dict[str, Any], Problems, PathT]:
    """A `--plan` file's `load:` block (or the whole mapping), durations in the scenario file's grammar,
    with every problem as `FILE:LINE: field: message` like a scenario file's."""
    problems = Problems(shown_as)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--plan {shown_as}: {exc}") from None
    data = read_yaml(text, problems)
    prefix: PathT = ("load",) if isinstance(data, dict) and "load" in data else ()
    block = data.get("load") if prefix else data
    if not problems and not isinstance(block, dict):
        problems.add(prefix, "expected a mapping of load fields (a `load:` block)")
    block = normalize_durations(block, prefix, problems) if isinstance(block, dict) else {}
    if problems:
        raise ScenarioFileError(problems.render())
    if isinstance(block.get("ca_bundle"), str):  # relative to the plan file, as paths in a scenario file are
        block["ca_bundle"] = str(absolute_path(path.parent / os.path.expanduser(block["ca_bundle"])))
    return block, problems, prefix


def plan_from_args(args: argparse.Namespace) -> LoadPlan:
    base: dict[str, Any] = {}
    problems, prefix = None, ()
    if args.plan is not None:
        base, problems, prefix = read_plan_file(args.plan, shown(args.plan))
    flags: dict[str, Any] = {
        "duration_s": args.duration,
        "think_time_s": args.think_time,
        "request_timeout_s": args.timeout,
        "workers": args.workers,
        "accounts": args.accounts,
        "ca_bundle": None if getattr(args, "ca_bundle", None) is None else str(args.ca_bundle),
    }
    if args.rps is not None:
        flags |= {"model": LoadModel.OPEN, "rps": args.rps}
    elif args.users is not None:
        flags |= {"model": LoadModel.CLOSED, "users": args.users}
    elif args.plan is None:
        raise InvalidInputError("give --rps (open model) or --users (closed model)")
    if args.signin_storm:
        flags["signin_storm"] = True
    given = {k: v for k, v in flags.items() if v is not None}
    merged = {**base, **given}
    if args.shape is not None:
        merged["shape"] = {**(merged.get("shape") or {}), "kind": args.shape}
    try:
        return LoadPlan.model_validate(merged)
    except ValidationError as exc:
        if problems is not None and all(e["loc"] and e["loc"][0] in base and e["loc"][0] not in given
                                        for e in exc.errors()):
            problems.add_validation(prefix, exc, LoadPlan)  # the file's fault: point at its lines
            raise ScenarioFileError(problems.render()) from None
        messages = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'load'}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"load: {messages}") from None


def run_load(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    if args.remote_workers < 0:
        raise InvalidInputError("--remote-workers must not be negative")
    config = optional_config(args.file, args.target)
    choice = choose_target(config, args.target, allow_protected=args.allow_protected)
    console = Console(stderr=True)
    with ExitStack() as stack:
        run_dir = args.run_dir or new_run_dir(args.report_dir, "load")
        if not choice.api_url:
            console.print(f"starting the bundled service ({choice.name}) for the run")
        target = stack.enter_context(open_session(choice, run_dir)).api_url
        plan = for_target(plan, choice.target)  # the target's own CA, and its way of signing in (Cognito)
        runner = LoadRunner(
            target,
            plan,
            run_dir,
            remote_workers=args.remote_workers,
            master_bind=args.master_bind,
            master_port=args.master_port,
        )
        stack.callback(runner.stop)
        console.print(f"load: {_describe(plan)} against {target} (run dir {run_dir})")
        runner.start()
        start = runner.start_epoch or time.time()
        for sample in runner.samples():
            console.print(_progress_line(sample, start), highlight=False, soft_wrap=True)
        summary = runner.wait(30)
        Console().print(_summary_table(summary))
        if args.json is not None:
            args.json.write_text(summary.model_dump_json(indent=2) + "\n")
        if runner.late:
            console.print(f"[yellow]{runner.late} results arrived after their second was closed[/]")
    return 0


def _describe(plan: LoadPlan) -> str:
    level = f"{plan.rps:g} RPS (open)" if plan.model is LoadModel.OPEN else f"{plan.users} users (closed)"
    return f"{level}, {plan.shape.kind.value} shape, {plan.duration_s:g} s, {plan.workers} worker(s)"


def _progress_line(s: SecondSample, start: float) -> str:
    errors = f"{s.error_rate * 100:5.1f}%"
    kinds = ", ".join(f"{k} {n}" for k, n in s.failures.items())
    gen = f"gen cpu {s.generator.cpu_percent:3.0f}% lag {s.generator.loop_lag_ms:4.0f} ms"
    flag = " [bold red]GENERATOR SATURATED[/]" if s.generator.saturated else ""
    users = f" users {s.users}" if s.users else ""
    return (
        f"{s.t - start:5.0f}s  {s.requests:6d} req  p90 {s.p90_ms:8.1f} ms  p99 {s.p99_ms:8.1f} ms  "
        f"errors {errors}{' (' + kinds + ')' if kinds else ''}{users}  {gen}{flag}"
    )


def _summary_table(summary: LoadSummary) -> Table:
    table = Table(title="load summary", show_header=False)
    target = "-" if summary.target_rps is None else f"{summary.target_rps:.1f}"
    rows = [
        ("achieved / target RPS", f"{summary.achieved_rps:.1f} / {target}"),
        ("users", "-" if summary.users is None else str(summary.users)),
        ("requests", str(summary.requests)),
        ("p50 / p90 / p95 / p99 / max ms", " / ".join(f"{v:.1f}" for v in (
            summary.p50_ms, summary.p90_ms, summary.p95_ms, summary.p99_ms, summary.max_ms))),
        ("error rate", f"{summary.error_rate * 100:.2f} %"),
        ("failures", ", ".join(f"{k}: {n}" for k, n in summary.failures.items()) or "none"),
        ("todos created / s, completion rate", f"{summary.todos_created_per_s:.1f}, {summary.completion_rate * 100:.1f} %"),
        ("generator max CPU / loop lag", f"{summary.generator_max_cpu_percent:.0f} % / {summary.generator_max_loop_lag_ms:.0f} ms"),
        ("generator saturated", f"{'YES' if summary.generator_saturated else 'no'} ({summary.saturated_seconds} s)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def run_worker(args: argparse.Namespace) -> int:
    if args.processes < 1:
        raise InvalidInputError("--processes must be at least 1")
    cmd = locust_command("--worker", "--master-host", args.master, "--master-port", str(args.master_port))
    env = locust_env()
    procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env) for _ in range(args.processes)]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        raise
    if any(codes):
        raise TargetError(f"worker processes exited with {codes}; could the master at {args.master} be reached?")
    return 0
