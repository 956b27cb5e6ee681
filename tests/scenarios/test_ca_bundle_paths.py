"""Where a CA bundle is named, and which one a drill's load trusts: relative paths mean the same file
whatever the working directory (relative to the scenario file or the --plan file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.plan import LoadPlan
from scenarios.cli import build_parser
from scenarios.drill_load import drill_load_plan
from scenarios.load_commands import plan_from_args
from scenarios.loader import load_config
from scenarios.models import resolve
from scenarios.quarterly_commands import _trusting
from scenarios.target_choice import choose_target

FILE = """
version: 1
defaults:
  load: {rps: 10, ca_bundle: certs/load-ca.pem}
profiles:
  smoke: {time_scale: 0.05, load: {ca_bundle: ~/profile-ca.pem}}
  plain: {time_scale: 0.05}
targets:
  tls: {kind: bundled, url: "https://127.0.0.1:8443", data_dir: data, ca_bundle: certs/ca.pem}
  public: {kind: bundled, url: "https://127.0.0.1:9443", data_dir: data}
scenarios:
  smoke: {checks: [availability]}
  own: {checks: [availability], load: {ca_bundle: /etc/own-ca.pem}}
"""


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "scenarios.yaml"
    path.write_text(FILE)
    monkeypatch.chdir(tmp_path)
    return path


def test_ca_bundles_in_the_file_are_relative_to_it(config_path: Path) -> None:
    config = load_config("conf/scenarios.yaml")
    conf = config_path.parent
    assert config.targets["tls"].ca_bundle == str(conf / "certs" / "ca.pem")
    assert config.targets["public"].ca_bundle is None
    assert config.defaults.load["ca_bundle"] == str(conf / "certs" / "load-ca.pem")
    assert config.profiles["smoke"].load["ca_bundle"] == str(Path.home() / "profile-ca.pem")
    assert config.scenarios["own"].load["ca_bundle"] == "/etc/own-ca.pem"


def test_a_drill_trusts_its_load_blocks_ca_else_its_targets(config_path: Path) -> None:
    config = load_config("conf/scenarios.yaml")
    conf = config_path.parent
    config.defaults.load.pop("ca_bundle")
    assert drill_load_plan(resolve(config, "smoke", "plain", "tls")).ca_bundle == str(conf / "certs" / "ca.pem")
    assert drill_load_plan(resolve(config, "own", "plain", "tls")).ca_bundle == "/etc/own-ca.pem"
    assert drill_load_plan(resolve(config, "smoke", "plain", "public")).ca_bundle is None  # system trust store


def test_load_flags_and_plan_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "tls.yaml").write_text("load:\n  rps: 5\n  ca_bundle: ca.pem\n")
    monkeypatch.chdir(tmp_path)
    parse = build_parser().parse_args
    from_file = plan_from_args(parse(["load", "--plan", "plans/tls.yaml"]))
    assert from_file.ca_bundle == str(tmp_path / "plans" / "ca.pem")
    flag = plan_from_args(parse(["load", "--plan", "plans/tls.yaml", "--ca-bundle", "mine.pem"]))
    assert flag.ca_bundle == str(tmp_path / "mine.pem")  # the flag wins, relative to where it was typed


def test_capacity_soak_and_quarterly_trust_the_flag_the_file_or_the_target(config_path: Path) -> None:
    config = load_config("conf/scenarios.yaml")
    conf = config_path.parent
    parse = build_parser().parse_args
    tls = choose_target(config, "tls", allow_protected=False)
    plain = LoadPlan(rps=10)
    assert _trusting(plain, tls, parse(["soak"])).ca_bundle == str(conf / "certs" / "ca.pem")
    file_ca = plain.model_copy(update={"ca_bundle": "/etc/file-ca.pem"})
    assert _trusting(file_ca, tls, parse(["soak"])).ca_bundle == "/etc/file-ca.pem"
    flag = parse(["capacity", "--ca-bundle", "flag.pem"])
    assert _trusting(file_ca, tls, flag).ca_bundle == str(config_path.parents[1] / "flag.pem")
    public = choose_target(config, "public", allow_protected=False)
    assert _trusting(plain, public, parse(["quarterly"])).ca_bundle is None


def test_capacity_soak_and_quarterly_sign_in_the_targets_way(config_path: Path) -> None:
    """An aws target's Cognito pool is the load's auth, unless the file's `load:` block names its own."""
    from chaos.targets import AwsTarget, CognitoPool
    from loadtests.plan import BundledAuth, CognitoAuth
    from scenarios.target_choice import TargetChoice

    pool = CognitoPool(user_pool_id="ap-northeast-2_AbCdEf123", client_id="3n4b5urk1ft4fl3mg5e62d9ado")
    staging = TargetChoice("staging", AwsTarget(api_url="https://abc.example.com/prod", cognito=pool))
    parse = build_parser().parse_args
    plain = LoadPlan(rps=10)
    for command in ("capacity", "soak", "quarterly"):
        auth = _trusting(plain, staging, parse([command])).auth
        assert isinstance(auth, CognitoAuth), command
        assert (auth.user_pool_id, auth.client_id, auth.pool_region) == (
            "ap-northeast-2_AbCdEf123", "3n4b5urk1ft4fl3mg5e62d9ado", "ap-northeast-2")
    own = plain.model_copy(update={"auth": BundledAuth()})
    assert _trusting(own, staging, parse(["soak"])).auth == BundledAuth()
    tls = choose_target(load_config("conf/scenarios.yaml"), "tls", allow_protected=False)
    assert _trusting(plain, tls, parse(["soak"])).auth is None  # the bundled service's /auth endpoints
