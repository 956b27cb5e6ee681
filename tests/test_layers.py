"""The import graph, read from the code (ast), against the layers of the design.

    common                      the ground: errors, durations; imports none of the others
    loadtests    chaos          load and faults, independent of each other
    verify                      judges journals and series (may read loadtests' records)
    scenarios                   engine, commands, CLI: drives all of the above
    service                     the system under test: stands alone (it is also the Lambda package)
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("common", "loadtests", "chaos", "verify", "scenarios", "service")

MAY_NOT_IMPORT = {
    "common": {"loadtests", "chaos", "verify", "scenarios", "service"},
    "service": {"common", "loadtests", "chaos", "verify", "scenarios"},
    "loadtests": {"chaos", "verify", "scenarios"},
    "chaos": {"loadtests", "verify", "scenarios"},
    "verify": {"chaos", "scenarios"},
}


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level project package -> the modules of `package` importing it (lazy imports included)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != package:
                    found[top].add(str(path.relative_to(ROOT)))
    return found


GRAPH = {package: imports_of(package) for package in PACKAGES}


@pytest.mark.parametrize("package", sorted(MAY_NOT_IMPORT))
def test_layer_rules(package: str) -> None:
    wrong = {dep: sorted(mods) for dep, mods in GRAPH[package].items() if dep in MAY_NOT_IMPORT[package]}
    assert not wrong, f"{package} imports what it may not: {wrong}"


def test_no_cycle_between_top_level_packages() -> None:
    edges = {package: set(GRAPH[package]) for package in PACKAGES}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in visiting:
            cycle = visiting[visiting.index(node):] + [node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        visiting.append(node)
        for nxt in sorted(edges[node]):
            visit(nxt)
        visiting.pop()
        done.add(node)

    for package in PACKAGES:
        visit(package)


def test_the_rules_see_imports_at_all() -> None:
    # The checker is only worth something if it finds the imports that are allowed.
    assert "loadtests" in GRAPH["verify"] and "verify" in GRAPH["scenarios"] and "common" in GRAPH["chaos"]
