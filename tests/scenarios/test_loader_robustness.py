"""Mangled scenario files give problems, never a crash: seeded mutations of the shipped file and a fixture."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from common.errors import InvalidInputError, ScenarioFileError
from scenarios.loader import parse_config
from scenarios.models import resolve

SOURCES = [Path(__file__).parents[2] / "scenarios.yaml", Path(__file__).parent / "fixtures" / "valid.yaml"]
JUNK = ["null", "[]", "{}", "-1", "yes", "'5 x'", "[1, {a: b}]", "{action: x}", "0", "1e400", "~", "!!str 3",
        "*undefined", "&a", '""', "[null]", "{for: 1}", "[bundled]"]


def mutate(lines: list[str], rng: random.Random) -> str:
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.4 and ":" in lines[i]:
            key = lines[i].partition(":")[0]
            lines[i] = f"{key}: {rng.choice(JUNK)}"
        elif op < 0.55:
            del lines[i]
        elif op < 0.7:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op < 0.85:
            lines[i] = lines[i].replace("[", "[" + rng.choice(JUNK) + ", ", 1)
        else:
            lines[i] = " " + lines[i]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(2))
def test_mutated_files_never_crash_the_loader(seed: int) -> None:
    rng = random.Random(seed)
    sources = [s.read_text().splitlines() for s in SOURCES]
    rejected = 0
    for _ in range(40):
        text = mutate(rng.choice(sources), rng)
        try:
            config = parse_config(text, "f.yaml")
        except ScenarioFileError as exc:
            rejected += 1
            assert exc.problems and all(p.startswith("f.yaml:") for p in exc.problems)
            continue
        for scenario in config.scenarios:  # what loads must resolve for every combination it allows
            for profile in config.profiles:
                for target in config.scenario_targets(scenario):
                    try:
                        resolve(config, scenario, profile, target, allow_protected=True)
                    except InvalidInputError as exc:
                        pytest.fail(f"loaded but does not resolve: {exc}\n{text}")
    assert rejected > 0  # the mutations do break files
