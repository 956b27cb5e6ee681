"""`hanbit-drill serve`: run the bundled todo service on 127.0.0.1 until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from service.errors import ServiceSettingsError, run_entry
from service.settings import DEFAULT_DATA_DIR, ServiceSettings
from service.store import StoreKind


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the bundled todo service on 127.0.0.1",
        description="Run the bundled todo service (API Gateway + Lambda todo-api + table + Cognito "
                    "stand-in) on 127.0.0.1. Prints its URL once every worker serves; Ctrl-C stops it.",
    )
    p.add_argument("--port", type=int, help="TCP port (default 8080; 0 picks a free one)")
    p.add_argument("--workers", type=int, help="worker processes (default 2)")
    p.add_argument("--data-dir", type=Path, help=f"database, key, logs (default {DEFAULT_DATA_DIR})")
    p.add_argument("--store", choices=[k.value for k in StoreKind], help="todo table backend (default sqlite)")
    p.add_argument("--region", help="region name reported by /health (default ap-northeast-2)")
    p.add_argument("--tls-cert", type=Path, metavar="FILE",
                   help="serve HTTPS with this PEM certificate (chain); it must name 127.0.0.1, the URL's host")
    p.add_argument("--tls-key", type=Path, metavar="FILE", help="the PEM private key of --tls-cert")
    p.add_argument("--regions", type=int, choices=(1, 2), default=1,
                   help="1: one region; 2: ap-northeast-2 + ap-northeast-1, replication, and an edge on the "
                        "public port that fails over between them. Both have the control API (docs/control-api.md)")
    p.add_argument("--health-interval", type=float, default=1.0, metavar="S",
                   help="edge health checks of each region every S seconds (default 1)")
    p.add_argument("--failure-threshold", type=int, default=3, metavar="N",
                   help="consecutive failed (passed) checks before a region is unhealthy (healthy) again; default 3")
    p.add_argument("--no-control", action="store_true",
                   help="the service alone, without the supervisor and the control plane (one region)")
    p.set_defaults(func=serve)


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    """Flags override the settings passed in the environment (by ServiceProcess), then defaults."""
    try:
        base = ServiceSettings.from_env()
        flags = {
            "port": args.port, "workers": args.workers, "data_dir": args.data_dir,
            "store": args.store, "region": args.region,
            "tls_cert": getattr(args, "tls_cert", None), "tls_key": getattr(args, "tls_key", None),
        }
        given = {k: v for k, v in flags.items() if v is not None}
        return ServiceSettings.model_validate({**base.model_dump(), **given})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" if e["loc"]
            else e["msg"].removeprefix("Value error, ") for e in exc.errors()
        )
        raise ServiceSettingsError(f"serve: {problems}") from None


def serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not getattr(args, "no_control", False):
        return serve_deployment(settings, getattr(args, "regions", 1), getattr(args, "health_interval", 1.0),
                                getattr(args, "failure_threshold", 3))
    from service.server import ReadyInfo, ServiceServer

    def announce(info: ReadyInfo) -> None:
        print(info.url, flush=True)
        print(f"hanbit-drill: todo service with {info.workers} worker(s), {info.store} store, region "
              f"{info.region}, data in {info.data_dir}; Ctrl-C to stop", file=sys.stderr, flush=True)

    ServiceServer(settings).run(on_ready=announce)
    return 0


def serve_deployment(settings: ServiceSettings, regions: int, health_interval_s: float = 1.0,
                     failure_threshold: int = 3) -> int:
    """The supervisor: region(s), replication and edge (2 regions), and the control API."""
    if not (0 < health_interval_s <= 300) or not (1 <= failure_threshold <= 10):
        raise ServiceSettingsError("serve: --health-interval must be within (0, 300] s and --failure-threshold 1..10")
    from service.regions.layout import DeploymentReady
    from service.regions.supervisor import Supervisor

    def announce(ready: DeploymentReady) -> None:
        print(ready.url, flush=True)
        where = ", ".join(f"{name} {url}" for name, url in ready.regions.items())
        print(f"hanbit-drill: todo service, {len(ready.regions)} region(s) ({where}), {ready.workers} worker(s) "
              f"each; control API {ready.control_url} (token in {ready.data_dir}/admin.token); Ctrl-C to stop",
              file=sys.stderr, flush=True)

    Supervisor(settings, regions=regions, health_interval_s=health_interval_s,
               failure_threshold=failure_threshold).run(on_ready=announce)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m service serve ...`: the service alone, without the other packages' commands."""
    parser = argparse.ArgumentParser(prog="python -m service")
    parser.add_argument("--debug", action="store_true")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_entry(lambda: args.func(args), name="hanbit-drill serve", debug=args.debug)
