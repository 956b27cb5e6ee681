"""`hanbit-drill`: the one place where errors become messages and exit codes.

Each package contributes its subcommands through an `add_commands(subparsers)`
function; a handler returns an exit code or raises a HarnessError.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from scenarios.errors import ExitCode, HarnessError

COMMAND_MODULES = (
    "scenarios.commands",  # list, validate, plan
    "scenarios.drill_commands",  # run, cleanup
    "service.cli",  # serve
    "loadtests.cli",  # load, worker
    "verify.cli",  # history
    "loadtests.quarterly_cli",  # capacity, soak, quarterly
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hanbit-drill",
        description="Recovery drills, load and chaos for the Hanbit TODO app.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # package not built yet
        module.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.INVALID_INPUT
    try:
        return int(args.func(args))
    except HarnessError as exc:
        if args.debug:
            raise
        print(f"hanbit-drill: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("hanbit-drill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
