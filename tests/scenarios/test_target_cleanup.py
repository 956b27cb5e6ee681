"""`hanbit-drill cleanup --target T`: what drills left on the target itself, without any journal.

The CLI's wiring over the scenario tests' fake provider (its `found` leftovers) on a bundled target with a
data directory (its lease a lock file there); then the whole sweep on an aws target under moto: a killed
drill's FIS fault from its SSM marker, an orphaned template, the load's Cognito accounts, and the lease."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from chaos.aws.provider import AwsProvider
from chaos.lease import LeaseHeldError, TargetLease
from chaos.local.lease_store import LockFileLeaseStore
from chaos.provider import Leftover
from chaos.targets import AwsTarget, CognitoPool
from scenarios.cli import main
from scenarios.target_cleanup import TargetCleanup

from .conftest import FakeBundledProvider

FILE = """
version: 1
defaults:
  load: {rps: 10}
profiles:
  smoke: {time_scale: 0.05}
targets:
  serve: {kind: bundled, url: "http://127.0.0.1:8080", data_dir: data}
  staging: {kind: aws, protected: true, api_url: "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod"}
scenarios:
  smoke: {checks: [availability]}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios.yaml").write_text(FILE)
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def leave(*names: str) -> None:
    FakeBundledProvider.found[:] = [
        Leftover("failover" if n.startswith("failover") else "function fault", n, f"{n} in effect",
                 clearable=not n.startswith("failover")) for n in names]


def test_each_leftover_is_printed_and_cleared_and_the_lease_given_back(workdir: Path, capsys) -> None:
    leave("latency", "exception", "failover-to-ap-northeast-1")
    assert main(["cleanup", "--target", "serve"]) == 0
    out = capsys.readouterr().out
    assert "function fault latency: latency in effect\n  cleared latency\n" in out
    assert "failover failover-to-ap-northeast-1: failover-to-ap-northeast-1 in effect\n  left as it is\n" in out
    assert "clean: target 'serve': 2 leftover(s) cleared, 1 left as they are\n" in out
    assert FakeBundledProvider.touched == ["clear latency", "clear exception"]
    assert not (workdir / "data" / "drill.lease").exists()
    assert main(["cleanup", "--target", "serve"]) == 0  # idempotent: nothing more to clear
    assert FakeBundledProvider.touched == ["clear latency", "clear exception"]


def test_a_dry_run_lists_and_changes_nothing(workdir: Path, capsys) -> None:
    leave("latency")
    assert main(["cleanup", "--target", "serve", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "function fault latency: latency in effect" in out
    assert "dry run, target 'serve': 1 leftover(s); nothing changed" in out
    assert FakeBundledProvider.touched == [] and not (workdir / "data" / "drill.lease").exists()


def test_cleanup_refuses_while_a_live_drill_holds_the_target(workdir: Path, capsys) -> None:
    leave("latency")
    TargetLease(LockFileLeaseStore(workdir / "data"), "serve", "20250615-120000/lambda-failure").acquire()
    assert main(["cleanup", "--target", "serve"]) == 3
    err = capsys.readouterr().err
    assert "target 'serve' is held by" in err and "run 20250615-120000/lambda-failure) since" in err
    assert FakeBundledProvider.touched == []
    # A dry run still lists, and says whose they are.
    assert main(["cleanup", "--target", "serve", "--dry-run"]) == 0
    assert "is held by" in capsys.readouterr().out


def test_what_cannot_be_cleared_fails_the_cleanup(workdir: Path, capsys) -> None:
    leave("fails-to-revert", "latency")
    assert main(["cleanup", "--target", "serve"]) == 3
    out = capsys.readouterr().out
    assert "could not clear it: fails-to-revert: AccessDenied" in out and "cleared latency" in out
    assert not (workdir / "data" / "drill.lease").exists()  # released all the same


def test_targets_cleanup_cannot_sweep_are_invalid_input(workdir: Path, capsys) -> None:
    assert main(["cleanup", "--dry-run"]) == 2
    assert "name it with --target" in capsys.readouterr().err
    assert main(["cleanup", "--target", "local"]) == 2
    assert "started by the harness for each drill" in capsys.readouterr().err
    assert main(["cleanup", "--target", "http://127.0.0.1:9"]) == 2
    assert "a drill must control its target" in capsys.readouterr().err


# ---- an aws target, under moto ----------------------------------------------------------------------

REGION = "ap-northeast-2"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def killed_drill(session: boto3.Session) -> tuple[str, str, str]:
    """A lambda.add-latency whose run was killed: its template, experiment and marker; and an orphan template."""
    fis = session.client("fis")
    templates = []
    for token in ("a", "b"):
        templates.append(fis.create_experiment_template(
            clientToken=token, description="hanbit-drill lambda.add-latency on todo-api",
            roleArn="arn:aws:iam::123456789012:role/hanbit-drill-fis", stopConditions=[{"source": "none"}],
            targets={"Functions": {"resourceType": "aws:lambda:function", "selectionMode": "ALL",
                                   "resourceArns": ["arn:aws:lambda:ap-northeast-2:123456789012:function:todo-api"]}},
            actions={"fault": {"actionId": "aws:lambda:invocation-add-delay", "parameters": {"duration": "PT180M"},
                               "targets": {"Functions": "Functions"}}},
            tags={"hanbit-drill": "lambda.add-latency"})["experimentTemplate"]["id"])
    experiment = fis.start_experiment(clientToken="c", experimentTemplateId=templates[0])["experiment"]["id"]
    session.client("ssm").put_parameter(Name="/hanbit-drill/todo-api/lambda.add-latency", Type="String", Value=json.dumps(
        {"region": REGION, "template_id": templates[0], "experiment_id": experiment}))
    return templates[0], experiment, templates[1]


def test_an_aws_target_is_swept_from_the_account_alone(account: boto3.Session) -> None:
    template, experiment, orphan = killed_drill(account)
    idp = account.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="hanbit-todo-users")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]
    for name in ("hanbit-drill-00000", "hanbit-drill-00001", "alice"):
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
    target = AwsTarget(api_url="https://abc.execute-api.ap-northeast-2.amazonaws.com/prod", region=REGION,
                       cognito=CognitoPool(user_pool_id=pool, client_id=client))
    console = Console(record=True, width=200)

    def sweep(**kw):
        return TargetCleanup("staging", target, console, provider_factory=lambda t, **_: AwsProvider(t), **kw).run()

    dry = sweep(dry_run=True)
    assert (dry.found, dry.accounts, dry.cleared) == (2, 2, 0)
    assert len(idp.list_users(UserPoolId=pool)["Users"]) == 3

    report = sweep(keep_accounts=True)  # what CI's always-run step does: the next run reuses the accounts
    assert report.clean and (report.found, report.cleared, report.accounts) == (2, 2, 0)
    text = console.export_text()
    assert "fault marker /hanbit-drill/todo-api/lambda.add-latency: lambda.add-latency still in effect" in text
    assert f"FIS experiment template {orphan}: lambda.add-latency" in text
    fis = account.client("fis")
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "stopped"
    assert fis.list_experiment_templates()["experimentTemplates"] == []
    assert len(idp.list_users(UserPoolId=pool)["Users"]) == 3
    ssm = account.client("ssm")
    assert ssm.get_parameters_by_path(Path="/hanbit-drill", Recursive=True)["Parameters"] == []  # lease given back
    again = sweep()
    assert again.clean and (again.found, again.accounts) == (0, 2)
    assert f"Cognito account hanbit-drill-00001 (user pool {pool}): removed" in console.export_text()
    assert template not in console.export_text()[len(text):]
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"]] == ["alice"]


def test_an_aws_target_held_by_a_live_drill_is_left_alone(account: boto3.Session) -> None:
    from scenarios.target_session import AwsSession

    template, experiment, _ = killed_drill(account)
    target = AwsTarget(api_url="https://abc.execute-api.ap-northeast-2.amazonaws.com/prod", region=REGION)
    TargetLease(AwsSession(target).lease_store(), "staging", "20250615-120000/lambda-failure").acquire()
    with pytest.raises(LeaseHeldError, match="SSM parameter /hanbit-drill/drill.lease/todo-api"):
        TargetCleanup("staging", target, Console(), provider_factory=lambda t, **_: AwsProvider(t)).run()
    assert account.client("fis").get_experiment(id=experiment)["experiment"]["state"]["status"] != "stopped"
