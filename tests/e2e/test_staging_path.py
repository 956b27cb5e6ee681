"""The staging path of CI, end to end without AWS: `hanbit-drill run ci-smoke --target staging
--allow-protected` and the `cleanup --target staging` step, as docs/ci.md's job types them.

The `staging` target of the repository's scenario file is an aws target whose API is the bundled service
over HTTPS (a test CA's certificate, `ca_bundle`), and whose AWS is a moto server: boto3 honours
AWS_ENDPOINT_URL, so the preflight's STS, IAM and SSM calls and the lease go there, made with the
credentials of a role shaped like the CI smoke role (assumed in moto). moto lacks
iam:SimulatePrincipalPolicy: the server answers it here from the role's own policies. The target names
no Cognito pool, so the load signs in at the bundled service's /auth, as the API's own accounts.

The drill must pass, write JUnit, hold the target's lease while it runs, and leave nothing in the account.
It runs the smoke profile rather than `--profile ci` (whose 60 s baseline and judged window make the drill
alone last over two minutes): the file's staging target allows it with `min_time_scale`, as a rehearsal
account that needs no AWS pace may (moto propagates nothing late).
"""

from __future__ import annotations

import fnmatch
import io
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).parent))  # the tests import with importlib: make as_user importable
from as_user import fresh_checkout, served_over_tls, user_env  # noqa: E402

from loadtests.runner import free_port  # noqa: E402
from verify.journal import Journal, RunStatus  # noqa: E402

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"  # moto's
LEASE = "/hanbit-drill/drill.lease/todo-api"
# What ci-smoke and its cleanup step need, as deploy/drill-prerequisites.yaml grants the smoke role (the
# deploy tests check that template's statements against the same calls).
SMOKE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"],
     "Resource": f"arn:aws:ssm:*:{ACCOUNT}:parameter{LEASE}"},
    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
     "Resource": [f"arn:aws:ssm:*:{ACCOUNT}:parameter/hanbit-drill", f"arn:aws:ssm:*:{ACCOUNT}:parameter/hanbit-drill/*"]},
    {"Effect": "Allow", "Action": ["iam:GetRole", "iam:SimulatePrincipalPolicy"],
     "Resource": f"arn:aws:iam::{ACCOUNT}:role/hanbit-drill-ci-smoke"},
    {"Effect": "Allow", "Action": ["fis:ListExperimentTemplates", "fis:GetExperimentTemplate", "fis:ListExperiments"],
     "Resource": "*"},
]}


@dataclass
class Simulated:
    """iam:SimulatePrincipalPolicy as the moto server answers it here: what it was asked, and the verdicts."""

    asked: list[tuple[str, str, str]] = field(default_factory=list)  # (principal, action, resource)

    def answer(self, response: IamResponse) -> ActionResult:
        principal = response._get_param("PolicySourceArn")
        actions = response._get_param("ActionNames") or []
        resources = response._get_param("ResourceArns") or ["*"]
        role = response.backend.get_role_by_arn(principal)
        statements = [s for doc in role.policies.values() for s in _statements(doc)]
        results = []
        for action in actions:
            for resource in resources:
                self.asked.append((principal, action, resource))
                hits = [s["Effect"] for s in statements
                        if _matches(s["Action"], action, fold=True) and _matches(s["Resource"], resource, fold=False)]
                verdict = "explicitDeny" if "Deny" in hits else "allowed" if "Allow" in hits else "implicitDeny"
                results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": verdict})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def _statements(document: Any) -> list[dict[str, Any]]:
    document = json.loads(document) if isinstance(document, str) else document
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def _matches(patterns: Any, value: str, fold: bool) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value.lower() if fold else value, p.lower() if fold else p) for p in patterns)


@dataclass
class Staging:
    cwd: Path
    url: str  # the API: the bundled service over HTTPS
    moto_url: str
    env: dict[str, str]  # the CI job's: the smoke role's credentials, AWS_ENDPOINT_URL
    simulated: Simulated

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.moto_url, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def run(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)

    def drill_parameters(self) -> list[str]:
        found = self.client("ssm").get_parameters_by_path(Path="/hanbit-drill", Recursive=True)["Parameters"]
        return [p["Name"] for p in found]


def _account(moto_url: str) -> dict[str, str]:
    """The stack ci-smoke's preflight looks at (function, alias LIVE, table) and the smoke role's credentials."""
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_url, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    iam = client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    function_role = iam.create_role(RoleName="todo-api-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    lam = client("lambda")
    lam.create_function(FunctionName="todo-api", Runtime="python3.11", Role=function_role, Handler="app.handler",
                        Code={"ZipFile": code.getvalue()}, Environment={"Variables": {"TABLE_NAME": "todos"}})
    version = lam.publish_version(FunctionName="todo-api")["Version"]
    lam.create_alias(FunctionName="todo-api", Name="LIVE", FunctionVersion=version)
    client("dynamodb").create_table(
        TableName="todos", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "todoId", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"},
                              {"AttributeName": "todoId", "AttributeType": "S"}])
    ci_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions."
                                                       f"githubusercontent.com"},
         "Action": "sts:AssumeRoleWithWebIdentity"}]}
    smoke = iam.create_role(RoleName="hanbit-drill-ci-smoke", AssumeRolePolicyDocument=json.dumps(ci_trust))["Role"]
    iam.put_role_policy(RoleName="hanbit-drill-ci-smoke", PolicyName="ci-smoke", PolicyDocument=json.dumps(SMOKE_POLICY))
    creds = client("sts").assume_role(RoleArn=smoke["Arn"], RoleSessionName="github-actions")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    simulated = Simulated()
    patch = pytest.MonkeyPatch()
    # A function on the class: moto calls it as the response's method.
    patch.setattr(IamResponse, "simulate_principal_policy", lambda response: simulated.answer(response),
                  raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    cwd = fresh_checkout(tmp_path_factory.mktemp("staging-path"))
    try:
        with served_over_tls(cwd, regions=1) as url:
            config = yaml.safe_load((cwd / "scenarios.yaml").read_text())
            staging_target = config["targets"]["staging"]
            # The rest as shipped: function, table, alarms, protected.
            staging_target.update(api_url=url, ca_bundle="certs/ca.pem", min_time_scale=0.05)
            (cwd / "scenarios.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
            env = {**user_env(), **_account(moto_url), "AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": REGION,
                   "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                   "AWS_EC2_METADATA_DISABLED": "true"}
            env.pop("AWS_PROFILE", None)
            yield Staging(cwd, url, moto_url, env, simulated)
    finally:
        server.stop()
        patch.undo()


def test_ci_smoke_against_an_aws_target_passes_writes_junit_and_leaves_nothing(staging: Staging) -> None:
    result = staging.run("hanbit-drill run ci-smoke --profile smoke --target staging --allow-protected --quiet "
                         "--report-dir runs", timeout=300)
    assert result.returncode == 0, result.stdout[-6000:]
    (run_dir,) = (staging.cwd / "runs").glob("2*/ci-smoke")
    journal = Journal.load(run_dir / "journal.json")
    assert journal.status is RunStatus.PASSED, journal.reason
    assert (journal.target, journal.target_kind, journal.service_url) == ("staging", "aws", staging.url)
    assert sum(s.requests for s in journal.series) > 0
    assert not any(s.failures for s in journal.series), [s.failures for s in journal.series if s.failures]
    assert journal.ledger is not None and journal.ledger.acknowledged > 0
    assert (journal.ledger.lost, journal.ledger.unexpected) == (0, 0)
    suite = ET.parse(run_dir / "junit.xml").getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert {"slo-baseline", "availability", "integrity"} <= set(cases)
    assert not any(c.find("failure") is not None or c.find("error") is not None for c in cases.values())
    # The preflight went to the account, as the smoke role: the lease was asked about (and allowed).
    role = f"arn:aws:iam::{ACCOUNT}:role/hanbit-drill-ci-smoke"
    assert (role, "ssm:PutParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{LEASE}") in staging.simulated.asked
    # Nothing is left in the account: the lease was given back, no marker was written.
    assert staging.drill_parameters() == []
    # docs/ci.md's always-run step: nothing to undo.
    cleanup = staging.run("hanbit-drill cleanup --target staging --report-dir runs", timeout=120)
    assert cleanup.returncode == 0, cleanup.stdout[-4000:]
    assert "clean: target 'staging': 0 leftover(s) cleared\n" in cleanup.stdout
    assert staging.drill_parameters() == []


def test_a_second_run_is_refused_while_a_drill_holds_staging(staging: Staging) -> None:
    """An operator's drill holds the target (its lease in the account): CI's run and cleanup both refuse."""
    ssm = staging.client("ssm")
    now = time.time()
    holder = {"owner": "alice@ops-laptop", "host": "ops-laptop", "pid": 4242, "run_id": "20250615-120000/lambda-failure",
              "acquired_at": now - 90, "expires_at": now + 210, "token": "alice"}
    ssm.put_parameter(Name=LEASE, Type="String", Value=json.dumps(holder))
    try:
        result = staging.run("hanbit-drill run ci-smoke --profile smoke --target staging --allow-protected "
                             "--quiet --report-dir runs-refused", timeout=120)
        assert result.returncode == 3, result.stdout[-4000:]
        said = " ".join(result.stdout.split())  # the terminal folds long lines
        assert "target 'staging' is held by alice@ops-laptop (pid 4242, run 20250615-120000/lambda-failure) since" in said
        assert "lapses in 3m" in said
        cleanup = staging.run("hanbit-drill cleanup --target staging --report-dir runs-refused", timeout=120)
        assert cleanup.returncode == 3 and "is held by alice@ops-laptop" in cleanup.stdout
        assert json.loads(ssm.get_parameter(Name=LEASE)["Parameter"]["Value"])["token"] == "alice"
    finally:
        ssm.delete_parameter(Name=LEASE)
