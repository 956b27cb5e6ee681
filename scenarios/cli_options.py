"""The command-line vocabulary every command shares: one spelling, one default, one meaning.

- `--file/-f`: the scenario file (default `scenarios.yaml`);
- `--target/-t`: a target name from the scenario file, or a URL (see `scenarios.target_choice`);
- `--profile/-p`: a profile of the file;
- `--report-dir`: the runs directory (default `runs`): drills, load, capacity, soak and quarterly
  runs are written below it, and `history` and `cleanup` read it. Older spellings (`--run-dir`,
  `--dir`) stay as hidden aliases;
- every duration option takes the scenario file's grammar (`90s`, `5m`, `1h30m`, `250ms`, `10`).

Paths are made absolute here, at the command boundary: a run directory handed to a Locust or
service subprocess, or recorded in a journal for `cleanup`, means the same place whatever the
working directory of whoever reads it later.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from chaos.targets import Target
from common.durations import parse_duration
from scenarios.models import DEFAULT_TARGET
from scenarios.target_kinds import KINDS

DEFAULT_FILE = "scenarios.yaml"
DEFAULT_REPORT_DIR = "runs"
DEFAULT_PROFILE = "smoke"  # of the implied `local` target; each kind of target names its own (chosen_profile)
HISTORY_SUBDIR = "history"


def absolute_path(value: str | os.PathLike[str]) -> Path:
    """`~` expanded and made absolute against the current directory (symlinks kept as typed)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(value))))


def duration(value: str) -> float:
    """An argparse `type`: the scenario file's duration grammar, in seconds."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", "-f", default=DEFAULT_FILE, help="scenario file (default: %(default)s)")


def add_target(parser: argparse.ArgumentParser, *, default: str | None = DEFAULT_TARGET) -> None:
    shown = f"default: {default}" if default else "default: start the bundled service for the run"
    parser.add_argument("--target", "-t", default=default,
                        help=f"a target name from the scenario file, or the API's URL ({shown})")


def add_profile(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """`--profile P`; without a `default`, the target's kind picks it (see `chosen_profile`)."""
    by_kind = ", ".join(f"{kind.model.default_profile} for {name} targets" for name, kind in KINDS.items())
    shown = "%(default)s" if default else by_kind
    parser.add_argument("--profile", "-p", default=default, help=f"profile (default: {shown})")


def chosen_profile(given: str | None, target: Target) -> str:
    """The profile a command uses: the one given, else its target kind's (`default_profile`): AWS needs
    minutes where the bundled service needs seconds, so the two kinds cannot share a default."""
    return given or target.default_profile


def add_allow_protected(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-protected", action="store_true", help="allow a target marked protected")


def add_report_dir(parser: argparse.ArgumentParser, *, aliases: tuple[str, ...] = ("--run-dir",)) -> None:
    """`--report-dir D` (default `runs`), with the older spellings accepted but not shown."""
    parser.add_argument("--report-dir", type=absolute_path, default=absolute_path(DEFAULT_REPORT_DIR),
                        metavar="DIR", help=f"the runs directory (default: {DEFAULT_REPORT_DIR})")
    for alias in aliases:
        parser.add_argument(alias, dest="report_dir", type=absolute_path, default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS)


def history_dir(report_dir: Path) -> Path:
    """Where drill history (and the capacity history) live inside a runs directory."""
    return report_dir / HISTORY_SUBDIR


def new_run_dir(report_dir: Path, kind: str) -> Path:
    """`<report_dir>/<kind>/<date-time>/`, created: where a load, capacity, soak or quarterly run writes."""
    path = report_dir.absolute() / kind / time.strftime("%Y%m%d-%H%M%S")
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when it lies below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
