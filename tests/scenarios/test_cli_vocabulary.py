"""The options every command shares: --target (name or URL), --report-dir and its old spellings,
durations, and paths that mean the same place whatever the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.targets import BundledTarget
from common.errors import InvalidInputError, ScenarioFileError
from scenarios.cli import build_parser, main
from scenarios.load_commands import plan_from_args
from scenarios.loader import load_config, parse_config
from scenarios.target_choice import choose_target, require_control, with_target
from service.regions.layout import DeploymentReady

FILE = """
version: 1
defaults:
  load: {rps: 10}
profiles:
  smoke: {time_scale: 0.05}
targets:
  serve: {kind: bundled, url: "http://127.0.0.1:8080", data_dir: data/svc}
  staging: {kind: aws, protected: true, api_url: "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod"}
scenarios:
  smoke: {checks: [availability]}
"""


def parse(argv: list[str]):
    return build_parser().parse_args(argv)


@pytest.fixture
def config():
    return parse_config(FILE)


# ---- --target ---------------------------------------------------------------------------------


def test_a_target_is_a_name_of_the_file(config) -> None:
    choice = choose_target(config, "serve", allow_protected=False)
    assert (choice.name, choice.api_url, choice.controllable) == ("serve", "http://127.0.0.1:8080", True)
    assert choose_target(config, "local", allow_protected=False).target == BundledTarget()


def test_a_url_of_a_file_target_is_that_target_with_its_protection(config) -> None:
    assert choose_target(config, "http://127.0.0.1:8080/", allow_protected=False).name == "serve"
    with pytest.raises(InvalidInputError, match="target 'staging' is protected: pass --allow-protected"):
        choose_target(config, "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod", allow_protected=False)


def test_a_url_served_from_this_directory_brings_its_data_dir(config, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / ".hanbit" / "data"
    data.mkdir(parents=True)
    DeploymentReady(url="http://127.0.0.1:9123", control_url="http://127.0.0.1:9124", pid=os.getpid(),
                    regions={}, primary="ap-northeast-2", workers=1, data_dir=str(data), started_at=0).write(data)
    choice = choose_target(config, "http://127.0.0.1:9123", allow_protected=False)
    assert choice.controllable and choice.target.data_dir == str(data)
    assert "http://127.0.0.1:9123" in with_target(config, choice).all_targets()


def test_any_other_url_carries_traffic_but_no_drill(config) -> None:
    choice = choose_target(config, "http://127.0.0.1:9", allow_protected=False)
    assert not choice.controllable and choice.api_url == "http://127.0.0.1:9"
    with pytest.raises(InvalidInputError, match="a drill must control its target"):
        require_control(choice, "scenarios.yaml")


def test_unknown_names_and_schemes_are_invalid_input(config) -> None:
    with pytest.raises(InvalidInputError, match="unknown target 'srve' \\(did you mean 'serve'\\?\\)"):
        choose_target(config, "srve", allow_protected=False)
    with pytest.raises(InvalidInputError, match="a URL must start with http:// or https://"):
        choose_target(config, "ftp://x", allow_protected=False)


def test_plan_takes_a_url_like_a_name(tmp_path, capsys) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text(FILE)
    assert main(["plan", "smoke", "--file", str(path), "--target", "http://127.0.0.1:8080"]) == 0
    assert "target    serve (bundled: http://127.0.0.1:8080)" in capsys.readouterr().out


# ---- paths --------------------------------------------------------------------------------------


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "scenarios.yaml").write_text(FILE)
    monkeypatch.chdir(tmp_path)
    target = load_config("conf/scenarios.yaml").targets["serve"]
    assert target.data_dir == str(tmp_path / "conf" / "data" / "svc")


def test_the_runs_directory_is_absolute_and_shared_by_every_command(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["run"], ["cleanup"], ["history"], ["capacity"], ["soak"], ["quarterly"], ["load", "--rps", "1"]):
        assert parse(argv).report_dir == tmp_path / "runs", argv
    assert parse(["run", "--report-dir", "x"]).report_dir == tmp_path / "x"


def test_old_spellings_still_work(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse(["capacity", "--run-dir", "old"]).report_dir == tmp_path / "old"
    assert parse(["history", "--dir", "old/history"]).dir == tmp_path / "old" / "history"
    assert parse(["load", "--rps", "1", "--run-dir", "exact"]).run_dir == tmp_path / "exact"


def test_history_reads_where_run_wrote(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["history", "--report-dir", str(tmp_path / "elsewhere")]) == 0
    assert f"no drill runs recorded in {tmp_path / 'elsewhere' / 'history'}" in capsys.readouterr().out


# ---- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, field, seconds", [
    (["capacity", "--hold", "10s"], "hold", 10.0),
    (["capacity", "--settle", "1.5"], "settle", 1.5),
    (["soak", "--duration", "1h30m"], "duration", 5400.0),
    (["soak", "--think-time", "250ms"], "think_time", 0.25),
    (["quarterly", "--hold", "5"], "hold", 5.0),
    (["load", "--rps", "1", "--duration", "2m"], "duration", 120.0),
])
def test_every_duration_option_takes_the_file_grammar(argv, field, seconds) -> None:
    assert getattr(parse(argv), field) == seconds


def test_a_bad_duration_is_a_usage_error(capsys) -> None:
    assert main(["capacity", "--hold", "soon"]) == 2
    assert "argument --hold: invalid duration 'soon'" in capsys.readouterr().err


# ---- load --plan files ------------------------------------------------------------------------


def test_a_plan_file_takes_durations_and_flags_override_it(tmp_path) -> None:
    plan_file = tmp_path / "myload.yaml"
    plan_file.write_text("load:\n  model: open\n  rps: 500\n  duration_s: 1m\n"
                         "  shape: {kind: ramp, ramp_s: 20s}\n")
    plan = plan_from_args(parse(["load", "--plan", str(plan_file), "--duration", "5s"]))
    assert (plan.rps, plan.duration_s, plan.shape.ramp_s) == (500, 5.0, 20.0)


def test_a_bad_plan_file_names_file_line_and_field(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("load:\n  model: open\n  rps: -5\n  think_time_s: soon\n")
    with pytest.raises(ScenarioFileError) as caught:
        plan_from_args(parse(["load", "--plan", "bad.yaml"]))
    assert caught.value.problems == [
        "bad.yaml:4: load.think_time_s: invalid duration 'soon': e.g. 90s, 5m, 2h, 1h30m, 250ms, "
        "or a number of seconds"]
    Path("bad.yaml").write_text("load:\n  model: open\n  rps: -5\n")
    with pytest.raises(ScenarioFileError) as caught:
        plan_from_args(parse(["load", "--plan", "bad.yaml"]))
    assert caught.value.problems == ["bad.yaml:3: load.rps: must be greater than 0 (got -5)"]


def test_validate_takes_the_file_like_every_other_command(tmp_path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FILE)
    assert main(["validate", "--file", str(path)]) == 0
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.count(": OK (1 scenarios, 1 profiles") == 2
