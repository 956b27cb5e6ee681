"""The bundled service's own errors, and the one place its processes turn them into exit codes.

The service stands alone (it is also packaged as the real Lambda), so it knows nothing of the
harness's errors: the harness maps these once, where it starts the service
(`scenarios.service_boundary`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import IntEnum


class ServiceExit(IntEnum):
    """Exit codes of the service's processes (the same numbers as the harness's)."""

    OK = 0
    BAD_SETTINGS = 2
    FAILED = 3
    INTERRUPTED = 130


class ServiceError(Exception):
    """The service could not start or keep running (a port in use, a store not reachable...)."""

    exit_code = ServiceExit.FAILED


class ServiceSettingsError(ServiceError):
    """A setting or flag is wrong; nothing was started."""

    exit_code = ServiceExit.BAD_SETTINGS


class ServiceStartError(ServiceError):
    """A process of the service exited or never got ready (the message carries its last output)."""


def run_entry(main: Callable[[], int | None], *, name: str, debug: bool = False) -> int:
    """Run a service process's main: a ServiceError is a one-line message and its exit code."""
    try:
        return int(main() or ServiceExit.OK)
    except ServiceError as exc:
        if debug:
            raise
        print(f"{name}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return int(ServiceExit.INTERRUPTED)
