"""`list`, `validate` and `plan` through the real CLI entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.target_kinds import KINDS, provider_at

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid.yaml"
SHIPPED = Path(__file__).parents[2] / "scenarios.yaml"


def test_validate_shipped_file_from_its_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    shutil.copy(SHIPPED, tmp_path / "scenarios.yaml")
    monkeypatch.chdir(tmp_path)  # FILE defaults to ./scenarios.yaml
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    import yaml

    shipped = yaml.safe_load(SHIPPED.read_text())
    counts = (len(shipped["scenarios"]), len(shipped["profiles"]), len(shipped["targets"]))
    assert out == "scenarios.yaml: OK ({} scenarios, {} profiles, {} targets)\n".format(*counts)


def test_validate_reports_every_problem_and_exits_2(capsys) -> None:
    bad = FIXTURES / "invalid" / "references.yaml"
    assert main(["validate", str(bad)]) == 2
    captured = capsys.readouterr()
    expected = (bad.with_suffix(".expected")).read_text().replace("references.yaml:", f"{bad}:")
    assert captured.err == "hanbit-drill: " + expected
    assert "Traceback" not in captured.err and captured.out == ""


def test_validate_missing_file(capsys, tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"hanbit-drill: {tmp_path / 'nope.yaml'}: no such scenario file\n"


def test_list_shows_scenarios_profiles_and_targets(capsys) -> None:
    assert main(["list", "--file", str(VALID)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [
        "scenarios:",
        "  NAME              RTO  RPO  DESCRIPTION",
        "  lambda-failure    5m   0s   a bad version is deployed to LIVE",
        "  negative-control  5m   0s   a bad version is deployed to LIVE (expected to fail)",
        "  local-only        -    -",
    ]
    assert "  smoke  0.1         lambda-failure" in out
    assert any(line.startswith("  staging  aws      yes        https://example.invalid/prod") for line in out)


def test_plan_prints_phases_faults_and_provider_operations(capsys, fake_providers) -> None:
    assert main(["plan", "lambda-failure", "--file", str(VALID)]) == 0
    out = capsys.readouterr().out
    expected = (FIXTURES / "valid-plan.expected").read_text().replace("FILE", str(VALID))
    assert out == expected
    assert fake_providers.FakeBundledProvider.touched == []  # no preflight, inject, revert or remediate


def test_plan_of_the_shipped_lambda_failure(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SHIPPED.parent)
    assert main(["plan", "lambda-failure"]) == 0
    out = capsys.readouterr().out
    phases = [line.split()[1] for line in out.splitlines() if line[:5].strip().rstrip(".").isdigit()]
    assert phases == ["preflight", "seed", "load", "baseline", "inject", "detect", "remediate", "recover",
                      "verify", "revert", "report"]
    assert "  profile   smoke (time_scale 0.05" in out
    assert "inject: lambda.deploy-bad-version()" in out and "revert: undo lambda.deploy-bad-version" in out


def test_plan_says_when_the_provider_is_not_available(capsys, monkeypatch: pytest.MonkeyPatch, fake_providers) -> None:
    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", f"{fake_providers.__name__}:UnbuildableProvider"))
    assert main(["plan", "lambda-failure", "--file", str(VALID)]) == 0
    out = capsys.readouterr().out
    assert "  provider  not available (RuntimeError: needs a control-plane token)\n" in out
    assert out.count("(operations not shown: the provider is not available)") == 3  # setup, fault, rollback

    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", "hanbit_no_such_provider_module:Provider"))
    assert main(["plan", "lambda-failure", "--file", str(VALID)]) == 0  # plan still works
    assert "not available (ModuleNotFoundError: No module named 'hanbit_no_such_provider_module')" in capsys.readouterr().out
    assert main(["validate", str(VALID)]) == 2  # validate does not let it pass


def test_plan_against_a_protected_target_touches_nothing_and_says_so(capsys, fake_providers) -> None:
    assert main(["plan", "lambda-failure", "--file", str(VALID), "--target", "staging", "--profile", "full"]) == 0
    out = capsys.readouterr().out
    assert "  target    staging (aws: https://example.invalid/prod, protected: `run` needs --allow-protected)" in out
    assert "   8. recover    SLO held for 1m = recovered; RTO 5m; gives up 10m after the inject phase starts" in out
    assert fake_providers.FakeBundledProvider.touched == []


def test_plan_with_a_bad_name_exits_2(capsys) -> None:
    assert main(["plan", "lambda", "--file", str(VALID)]) == 2
    err = capsys.readouterr().err
    assert err == "hanbit-drill: unknown scenario 'lambda' (did you mean 'lambda-failure'?); the file has: lambda-failure, negative-control, local-only\n"


def test_shipped_file_validates_against_the_real_providers(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    pytest.importorskip("chaos.local.provider")
    pytest.importorskip("chaos.aws.provider")
    monkeypatch.setitem(KINDS, "bundled", provider_at("bundled", "chaos.local.provider:LocalProvider"))
    monkeypatch.setitem(KINDS, "aws", provider_at("aws", "chaos.aws.provider:AwsProvider"))
    assert main(["validate", str(SHIPPED)]) == 0, capsys.readouterr().err
    assert main(["plan", "lambda-failure", "--file", str(SHIPPED)]) == 0
    assert "(operations not shown" not in capsys.readouterr().out  # the real provider plans without I/O
