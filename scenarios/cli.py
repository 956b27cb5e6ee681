"""`hanbit-drill`: the one place where errors become messages and exit codes.

Each package contributes its subcommands through an `add_commands(subparsers)`
function; a handler returns an exit code or raises a HarnessError.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from common.errors import ExitCode, HarnessError, InvalidInputError, TargetError
from common.messages import LANG_ENV, use
from service.errors import ServiceError, ServiceSettingsError

COMMAND_MODULES = (
    "scenarios.commands",  # list, validate, plan
    "scenarios.drill_commands",  # run, cleanup
    "service.cli",  # serve
    "scenarios.load_commands",  # load, worker
    "scenarios.report_commands",  # history, report
    "scenarios.quarterly_commands",  # capacity, soak, quarterly
    "scenarios.package_commands",  # package-lambda
    "scenarios.gameday_commands",  # ack, bundled
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hanbit-drill",
        description="Recovery drills, load and chaos for the Hanbit TODO app.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--lang", help=f"language of the console, pages and reports: en (default) or ko "
                                       f"(also ${LANG_ENV})")
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (exit 2) or the help (exit 0)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.INVALID_INPUT
    return run_command(lambda: _with_language(args), debug=args.debug)


def _with_language(args: argparse.Namespace) -> int:
    use(args.lang)  # before anything is shown; an unknown language is invalid input (exit 2)
    return int(args.func(args))


def run_command(command: Callable[[], int], *, debug: bool = False, prefix: str = "hanbit-drill") -> int:
    """The one place where errors become messages and exit codes (every entry point goes through it)."""
    try:
        try:
            return int(command())
        except ServiceError as exc:
            raise service_error(exc) from exc
    except HarnessError as exc:
        if debug:
            raise
        print(f"{prefix}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # `hanbit-drill plan X | head`: the reader has what it wanted. Point stdout at /dev/null so
        # the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.PASSED)


def service_error(exc: ServiceError) -> HarnessError:
    """The bundled service's errors (it knows nothing of the harness's) as the harness reports them."""
    if isinstance(exc, ServiceSettingsError):
        return InvalidInputError(str(exc))
    return TargetError(str(exc))


if __name__ == "__main__":
    sys.exit(main())
