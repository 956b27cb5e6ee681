"""Every invalid file in fixtures/invalid is rejected with exactly the messages of its .expected sibling.

A message that lists every check name is written with a placeholder for the list, taken from the
registry of checks, so that a new check is its module and its registry entry only:
`{checks}` is `slo-baseline, detection, ...`, `{'checks' or}` is `'slo-baseline', 'detection', ... or '...'`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import ExitCode, ScenarioFileError
from scenarios.loader import load_config
from verify.checks import CHECKS

CORPUS = Path(__file__).parent / "fixtures" / "invalid"
CASES = sorted(CORPUS.glob("*.yaml"))


def with_check_names(line: str) -> str:
    quoted = [repr(name) for name in CHECKS]
    listed = ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return line.replace("{checks}", ", ".join(CHECKS)).replace("{'checks' or}", listed)


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        assert case.with_suffix(".expected").exists(), f"{case.name} has no .expected file"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_file_reports_every_problem(case: Path) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        load_config(case)
    got = [line.replace(f"{case}:", f"{case.name}:", 1) for line in caught.value.problems]
    expected = [with_check_names(line) for line in case.with_suffix(".expected").read_text().splitlines()]
    assert got == expected
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
