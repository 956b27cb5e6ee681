"""The README's "first five minutes", typed as written in a fresh directory with the default options.

The transcript includes `hanbit-drill run` (the README's first command: the smoke suite); the smoke
suite's own assertions (tests/e2e/test_smoke_suite.py) read the runs it left in `runs/`.
"""

from __future__ import annotations

import pytest
from doc_examples import shows

pytestmark = pytest.mark.e2e


def test_the_readme_has_one_transcript_that_starts_from_validate(first_five_minutes) -> None:
    commands = [t.step.command for t in first_five_minutes.typed]
    assert commands[0] == "hanbit-drill validate" and "hanbit-drill run" in commands


def test_every_transcript_command_succeeds_and_shows_what_the_readme_shows(first_five_minutes) -> None:
    for typed in first_five_minutes.typed:
        output = typed.result.stdout
        assert typed.result.returncode == 0, f"$ {typed.step.command}\n{output[-4000:]}"
        assert "Traceback" not in output, f"$ {typed.step.command}\n{output[-4000:]}"
        problem = shows(output, typed.step.shown)
        assert problem is None, f"$ {typed.step.command}: {problem}\n--- output ---\n{output[-4000:]}"


def test_the_default_runs_directory_is_relative_to_where_the_user_stands(first_five_minutes) -> None:
    runs = first_five_minutes.runs
    assert (runs / "latest").is_symlink() and (runs / "latest" / "lambda-failure" / "report.html").exists()
    assert (runs / "history" / "history.jsonl").exists()
    # Locust's and the service's files went where the run said, not into some other working directory.
    assert list(runs.glob("*/lambda-failure/load/locust-master.log"))
    assert not (first_five_minutes.cwd / "load-session.json").exists()
