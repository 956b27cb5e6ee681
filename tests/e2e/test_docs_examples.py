"""Every command the README and docs/*.md show, run as typed from a fresh directory with default options.

Each example found in the Markdown has a decision below: run it as written (with a shorter duration or
the smoke profile appended where the example allows; paths are never rewritten), run an AWS one
through `plan`, or skip it with the reason it cannot run here. An example without a decision fails,
so a new one in the docs is either run or explained.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from as_user import fresh_checkout, shell
from doc_examples import ROOT, blocks, examples, synopses

from scenarios.cli import build_parser

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Run:
    append: str = ""  # e.g. a shorter --duration: argparse takes the last value given
    needs_serve: bool = False  # the example's `--target http://127.0.0.1:8080` / `serve` is `hanbit-drill serve`
    exit_codes: tuple[int, ...] = (0,)
    leaves: str = ""  # a glob, relative to the working directory, that must match afterwards


@dataclass(frozen=True)
class ThroughPlan:
    """An AWS example: `plan` shows the exact calls it would make, touching nothing."""


@dataclass(frozen=True)
class Skip:
    reason: str


SHORT = "--duration 5s"
SMOKE = "--profile smoke"
DECISIONS: dict[str, Run | ThroughPlan | Skip] = {
    # README
    "pip install -e . && hanbit-drill run": Skip("the install is .ci/run's fresh one; `hanbit-drill run` is the "
                                                 "README transcript's (test_as_typed.py)"),
    "pip install -e '.[test]' && python -m pytest": Skip("this is the test suite itself (.ci/run runs it)"),
    "pip install -c constraints.txt -e '.[test]'": Skip("the install .ci/run makes"),
    # docs/aws.md
    "hanbit-drill plan lambda-failure --target staging": Run(),
    "hanbit-drill run lambda-failure --target staging --allow-protected": ThroughPlan(),
    "hanbit-drill cleanup --target staging --dry-run": Skip(
        "needs staging's AWS account (no plan shows a cleanup): tests/e2e/test_staging_path.py types `cleanup "
        "--target staging` against a moto account, tests/scenarios/test_target_cleanup.py sweeps one with leftovers"),
    "hanbit-drill cleanup --target staging": Skip(
        "needs staging's AWS account: tests/e2e/test_staging_path.py types it against a moto account after ci-smoke, "
        "tests/chaos/aws/test_leftovers.py reverts a killed drill's faults from their markers"),
    # docs/ci.md
    "pip install -e .": Skip("the install .ci/run makes"),
    "hanbit-drill validate": Run(),
    "hanbit-drill package-lambda todo-api.zip": Run(leaves="todo-api.zip"),
    "hanbit-drill run ci-smoke --profile ci --target staging --allow-protected --quiet --report-dir runs": ThroughPlan(),
    "hanbit-drill run ci-smoke --profile ci --target local --quiet": Run(SMOKE, leaves="runs/*/junit.xml"),
    "hanbit-drill serve &": Skip("the `served` fixture types it and keeps it running for the examples after it"),
    "hanbit-drill run ci-smoke --profile ci --target serve --quiet": Run(SMOKE, needs_serve=True,
                                                                        leaves="runs/*/ci-smoke/journal.json"),
    "hanbit-drill cleanup --target serve": Run(needs_serve=True),
    # docs/load.md
    "hanbit-drill serve": Skip("the `served` fixture types it and keeps it running for the examples after it"),
    "hanbit-drill load --rps 1000 --duration 60s --target http://127.0.0.1:8080 --json summary.json":
        Run(SHORT, needs_serve=True, leaves="summary.json"),
    "hanbit-drill load --users 10000 --think-time 10s --duration 60s": Run(SHORT, leaves="runs/load/*/seconds.jsonl"),
    "hanbit-drill load --plan myload.yaml --target http://127.0.0.1:8080": Run(SHORT, needs_serve=True),
    "hanbit-drill serve --port 8443 --data-dir .hanbit/tls --tls-cert cert.pem --tls-key key.pem":
        Skip("needs a certificate and key, which a fresh directory has not; tests/e2e/test_tls_drill.py types "
             "this serve with a test CA's and runs ci-smoke against it"),
    "hanbit-drill load --rps 1000 --duration 60s --target https://127.0.0.1:8443 --ca-bundle ca.pem":
        Skip("needs the HTTPS serve above and its CA; tests/loadtests/test_load_tls.py runs this load against "
             "the bundled service over HTTPS with a test CA"),
    "hanbit-drill load --rps 4000 --duration 10m --target http://api.example.internal --workers 2 --remote-workers 2 "
    "--master-bind 0.0.0.0 --master-port 5557": Skip("needs machines B and C as remote workers and the host "
                                                     "api.example.internal; tests/loadtests runs remote workers on loopback"),
    "hanbit-drill worker --master 10.0.0.5 --master-port 5557": Skip("needs the master machine 10.0.0.5"),
    # docs/quarterly.md: a smaller machine's smoke run, made shorter still; seed targets may then be missed (exit 1)
    "hanbit-drill quarterly --time-scale 0.02 --max-rps 1000 --step 100 --hold 5 --users 300 --think-time 1":
        Run("--max-rps 300 --hold 3s --time-scale 0.002", exit_codes=(0, 1), leaves="runs/quarterly/*/result.json"),
    # docs/gameday.md
    "hanbit-drill plan lambda-failure --profile gameday": Run(),
    "hanbit-drill ack": Skip("needs a running game-day drill's page; tests/e2e/test_gameday.py acknowledges real pages"),
    "hanbit-drill bundled update-alias --name LIVE --function-version 1 --data-dir "
    "runs/20261204-101500/lambda-failure/service": Skip("an example of a paged runbook: it needs that drill's service; "
                                                        "tests/e2e/test_gameday.py runs the paged text as typed"),
    # docs/scenarios.md
    "hanbit-drill list": Run(),
    "hanbit-drill plan lambda-failure": Run(),
    "hanbit-drill plan region-outage --profile full --target staging": Run(),
    "hanbit-drill run": Skip("the README transcript runs it (test_as_typed.py)"),
}

FOUND = examples()
RUN_ONLY = ("--allow-protected", "--quiet", "-q")


def as_plan(command: str) -> str:
    """`run X --target staging --allow-protected --quiet --report-dir runs` -> `plan X --target staging`."""
    words = command.replace("hanbit-drill run ", "hanbit-drill plan ", 1).split()
    kept, skip_value = [], False
    for word in words:
        if skip_value:
            skip_value = False
        elif word == "--report-dir":
            skip_value = True
        elif word not in RUN_ONLY:
            kept.append(word)
    return " ".join(kept)


def file_shown_as(name: str) -> str:
    """The YAML block the docs show for a file the examples use (e.g. `myload.yaml`)."""
    for path in (ROOT / "docs").glob("*.md"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in blocks(path):
            before = lines[max(0, block.first_line - 4):block.first_line - 1]
            if block.lang == "yaml" and any(line.startswith(f"`{name}`") for line in before):
                return "\n".join(block.lines) + "\n"
    raise AssertionError(f"no document shows {name}")


def test_every_example_has_a_decision_and_every_decision_an_example() -> None:
    found = {e.command for e in FOUND}
    assert not found - set(DECISIONS), "examples without a decision (run them or say why not)"
    assert not set(DECISIONS) - found, "decisions for examples no document shows any more"


@pytest.mark.parametrize("example", FOUND, ids=[e.where for e in FOUND])
def test_example_as_typed(example, request, tmp_path: Path) -> None:
    decision = DECISIONS[example.command]
    if isinstance(decision, Skip):
        pytest.skip(decision.reason)
    if isinstance(decision, ThroughPlan):
        command, expected, leaves = as_plan(example.command), (0,), ""
    else:
        command = f"{example.command} {decision.append}".strip()
        expected, leaves = decision.exit_codes, decision.leaves
    needs_serve = isinstance(decision, Run) and decision.needs_serve
    cwd = request.getfixturevalue("served").cwd if needs_serve else fresh_checkout(tmp_path / "checkout")
    if "myload.yaml" in command:
        (cwd / "myload.yaml").write_text(file_shown_as("myload.yaml"))
    result = shell(command, cwd, timeout=420)
    shown = f"$ {command}\n{result.stdout[-5000:]}"
    assert result.returncode in expected, shown
    assert "Traceback" not in result.stdout, shown
    if leaves:
        assert list(cwd.glob(leaves)), f"{leaves} missing after: {shown}"
    if leaves == "summary.json":
        assert json.loads((cwd / leaves).read_text())["requests"] > 0


def test_the_aws_examples_plan_the_exact_calls() -> None:
    plan = as_plan("hanbit-drill run lambda-failure --target staging --allow-protected")
    assert plan == "hanbit-drill plan lambda-failure --target staging"


SYNOPSES = synopses()


@pytest.mark.parametrize("synopsis", SYNOPSES, ids=[f"{s.where}-{s.command}" for s in SYNOPSES])
def test_synopsis_options_exist(synopsis) -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert synopsis.command in commands, f"{synopsis.where}: no command {synopsis.command!r}"
    known = {o for a in commands[synopsis.command]._actions for o in a.option_strings}
    missing = [o for o in synopsis.options if o not in known]
    assert not missing, f"{synopsis.where}: `{synopsis.command}` has no {', '.join(missing)}"


def test_the_python_example_of_the_scenarios_doc_runs(tmp_path: Path) -> None:
    (snippet,) = [b for b in blocks(ROOT / "docs" / "scenarios.md") if b.lang == "python"]
    cwd = fresh_checkout(tmp_path / "checkout")
    (cwd / "example.py").write_text("\n".join(snippet.lines) + "\nprint(plan.scenario, names)\n")
    result = shell("python example.py", cwd, timeout=60)
    assert result.returncode == 0, result.stdout
    assert re.search(r"lambda-failure \['lambda-failure', 'table-corruption', 'region-outage'\]", result.stdout)
