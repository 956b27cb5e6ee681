"""The one error hierarchy of the harness.

Every failure the user should see as a message (not a traceback) derives from
HarnessError and carries the exit code the CLI maps it to, in one place
(`scenarios.cli`): 1 a check failed, 2 invalid input, 3 target/provider error, 130 interrupted.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    CHECK_FAILED = 1
    INVALID_INPUT = 2
    TARGET_ERROR = 3
    INTERRUPTED = 130  # Ctrl-C / SIGTERM: the shell's 128 + SIGINT


class HarnessError(Exception):
    """Base of every error the harness reports to its user."""

    exit_code: ExitCode = ExitCode.TARGET_ERROR


class InvalidInputError(HarnessError):
    """A scenario file, CLI argument or parameter is wrong. Nothing was started."""

    exit_code = ExitCode.INVALID_INPUT


class ScenarioFileError(InvalidInputError):
    """Every problem found in a scenario file, each as `FILE:LINE: field.path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class CheckFailedError(HarnessError):
    """A drill ran to the end and at least one promise (check) was broken."""

    exit_code = ExitCode.CHECK_FAILED


class TargetError(HarnessError):
    """The system under test cannot be reached or does not behave as required."""

    exit_code = ExitCode.TARGET_ERROR


class ProviderError(TargetError):
    """A fault provider could not inject, remediate or revert (e.g. an AWS API error)."""


class PreflightError(ProviderError):
    """Preflight found problems; nothing was injected."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("preflight failed:\n" + "\n".join(f"  - {p}" for p in problems))


class LoadError(TargetError):
    """The load generator could not start or died."""
