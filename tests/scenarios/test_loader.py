"""The loader on valid files, and the behaviour around its problem reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InvalidInputError, ScenarioFileError
from scenarios.loader import load_config, parse_config
from scenarios.models import CheckName, Expect, Trigger
from scenarios.target_kinds import KINDS, provider_at

FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED = Path(__file__).parents[2] / "scenarios.yaml"

MINIMAL = """\
version: 1
defaults:
  load: {rps: 100}
scenarios:
  quiet:
    checks: [slo-baseline]
"""


def problems_of(text: str, **kwargs: bool) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        parse_config(text, "f.yaml", **kwargs)
    return caught.value.problems


def test_shipped_file_holds_every_drill_of_the_issues() -> None:
    config = load_config(SHIPPED)
    recovery = ["lambda-failure", "table-corruption", "region-outage"]
    assert config.suite("smoke") == recovery
    assert config.suite("full") == recovery
    for name in ["cold-start-latency", "intermittent-5xx", "table-throttling", "token-expiry-401", "ci-smoke"]:
        assert name in config.scenarios
    assert config.scenarios["lambda-failure"].rto == 300
    assert config.scenarios["table-corruption"].rto == 1800
    assert config.scenarios["region-outage"].rto == 7200
    control = config.scenarios["lambda-failure-no-remediation"]
    assert control.expect is Expect.FAIL
    assert [r.when for r in control.remediation] == [Trigger.NEVER]
    assert CheckName.RTO in control.checks
    assert config.all_targets()["staging"].protected
    assert not config.scenarios["ci-smoke"].faults


def test_valid_fixture_loads_with_merge_keys_and_durations() -> None:
    config = load_config(FIXTURES / "valid.yaml")
    lam, neg = config.scenarios["lambda-failure"], config.scenarios["negative-control"]
    assert lam.faults[0].at == 10.0 and lam.remediation[1].delay == 240.0
    assert neg.rto == lam.rto and neg.faults == lam.faults  # merged from the anchor
    assert neg.remediation[0].when is Trigger.NEVER and neg.expect is Expect.FAIL
    # `_s` keys of the blocks take durations too, stored as seconds
    assert config.defaults.detection["period_s"] == 300.0
    assert config.scenarios["local-only"].load["think_time_s"] == 0.5


def test_implied_local_target() -> None:
    config = parse_config(MINIMAL)
    assert list(config.all_targets()) == ["local"]
    assert config.all_targets()["local"].kind == "bundled"


def test_problems_in_several_sections_are_all_reported_at_once() -> None:
    text = MINIMAL.replace("checks: [slo-baseline]", "checks: [slo-baseline]\n    rtoo: 5m\n    rto: never") + (
        "  second:\n    faults: [{action: lambda.nope}]\n    max_duration: 1m\n    checks: [detection]\n"
    )
    assert problems_of(text) == [
        "f.yaml:7: scenarios.quiet.rtoo: unknown key (did you mean 'rto'?)",
        "f.yaml:8: scenarios.quiet.rto: invalid duration 'never': e.g. 90s, 5m, 2h, 1h30m, 250ms, or a number of seconds",
        "f.yaml:10: scenarios.second.faults[0].action: unknown fault action 'lambda.nope' (known: "
        "lambda.deploy-bad-version, lambda.invocation-error, lambda.add-latency, lambda.http-status, "
        "lambda.slow-invocations, lambda.reserved-concurrency, table.corrupt, table.throttle, region.outage, "
        "region.pause-replication, auth.expire-tokens)",
    ]


def test_a_bad_item_does_not_hide_problems_in_the_rest_of_its_list() -> None:
    text = MINIMAL.replace(
        "checks: [slo-baseline]",
        "max_duration: 10m\n    faults:\n      - {action: table.corrupt, at: later}\n"
        "      - {action: table.corrupt, params: {fraction: 2}}\n    checks: [slo-baseline]",
    )
    assert problems_of(text) == [
        "f.yaml:8: scenarios.quiet.faults[0].at: invalid duration 'later': e.g. 90s, 5m, 2h, 1h30m, 250ms, or a number of seconds",
        "f.yaml:9: scenarios.quiet.faults[1].params.fraction: must be less than or equal to 1 (got 2)",
    ]


def test_an_unloadable_provider_is_a_clean_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", "hanbit_no_such_provider_module:Provider"))
    text = MINIMAL.replace("checks: [slo-baseline]", "max_duration: 1m\n    faults: [{action: lambda.deploy-bad-version}]\n    checks: [detection]")
    assert problems_of(text) == [
        "f.yaml:1: targets.local.kind: cannot load the fault provider for kind 'bundled': "
        "No module named 'hanbit_no_such_provider_module'",
    ]
    # `plan` loads leniently: the capability check is skipped, the plan reports the missing provider
    assert parse_config(text, require_providers=False).scenarios["quiet"].faults


def test_a_provider_that_fails_to_import_is_reported_at_its_target(monkeypatch: pytest.MonkeyPatch, fake_providers) -> None:
    monkeypatch.setitem(KINDS, "aws", provider_at("aws", f"{fake_providers.__name__}:NoSuchClass"))
    text = MINIMAL.replace("scenarios:", "targets:\n  staging: {kind: aws, api_url: 'https://x.invalid'}\nscenarios:").replace(
        "checks: [slo-baseline]", "max_duration: 1m\n    faults: [{action: lambda.deploy-bad-version}]\n    checks: [detection]"
    )
    [problem] = problems_of(text)
    assert problem.startswith("f.yaml:5: targets.staging.kind: cannot load the fault provider for kind 'aws': ")
    assert "NoSuchClass" in problem


def test_no_provider_is_imported_when_no_scenario_injects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", "hanbit_no_such_provider_module:Provider"))
    assert parse_config(MINIMAL).scenarios["quiet"].checks == [CheckName.SLO_BASELINE]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\n---\nversion: 1\n", "f.yaml:2: (yaml): expected a single document in the stream: but found another document"),
        ("version: 1\nx: &a [*a]\n", "f.yaml:2: x[0]: recursive alias"),
        ("version: 1\nscenarios: !!python/object:os.system {}\n",
         "f.yaml:2: scenarios: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"),
        ("version: !!python/name:os.system 1\n",
         "f.yaml:1: (yaml): could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'"),
        ("version: 1\n\tscenarios: {}\n", "f.yaml:2: (yaml): while scanning for the next token: found character '\\t' that cannot start any token"),
    ],
)
def test_yaml_level_problems_have_lines(text: str, expected: str) -> None:
    assert problems_of(text)[0] == expected


def test_yaml_1_1_booleans_keep_their_names_as_keys() -> None:
    # `on:` is True in YAML 1.1; as a key it must stay the name the operator wrote
    [problem] = problems_of(MINIMAL + "    on: push\n")
    assert problem == "f.yaml:7: scenarios.quiet.on: unknown key (allowed: description, targets, rto, rpo, baseline, " \
        "sustained, max_duration, load, slo, detection, setup, teardown, faults, remediation, stop_conditions, checks, expect)"


def test_missing_and_unreadable_files_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such scenario file"):
        load_config(tmp_path / "absent.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidInputError, match="cannot read the scenario file"):
        load_config(binary)
    with pytest.raises(InvalidInputError, match="cannot read the scenario file"):
        load_config(tmp_path)
