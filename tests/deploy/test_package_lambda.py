"""`hanbit-drill package-lambda`: the zip holds the handler and everything it imports but what Lambda provides,
and serves a request as API Gateway's Cognito authorizer sends it, from nothing but the unzipped package."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from scenarios.cli import main
from scenarios.package_commands import RUNTIME_PROVIDED, build_package, service_closure
from service.store.dynamodb import create_table, make_client

HARNESS = ("common", "scenarios", "chaos", "loadtests", "verify")


def test_the_zip_holds_the_handlers_modules_and_the_vendored_wheels_only(lambda_package) -> None:
    names = zipfile.ZipFile(lambda_package.path).namelist()
    tops = {name.split("/")[0] for name in names}
    assert not tops & set(HARNESS)
    assert not {t for t in tops if t.split("-")[0].lower().replace("_", "-") in RUNTIME_PROVIDED}  # boto3 is Lambda's
    service = sorted(n for n in names if n.startswith("service/"))
    _, modules, _ = service_closure()
    assert service == sorted(p.relative_to(p.parents[len(m.split(".")) - (p.name != "__init__.py")]).as_posix()
                             for m, p in modules.items())
    assert "service/api/lambda_entry.py" in service and "service/server.py" not in service  # not the local runtime
    # Compiled for Lambda (CPython 3.11 on Linux x86_64), whatever machine built it.
    assert any(n.startswith("pydantic_core/") and n.endswith(".cpython-311-x86_64-linux-gnu.so") for n in names)
    assert [v.split("==")[0] for v in lambda_package.vendored] == ["orjson", "pydantic"]
    assert not any("__pycache__" in n for n in names)


def test_the_zip_is_reproducible(lambda_package, tmp_path) -> None:
    again = build_package(tmp_path / "again.zip")
    assert again.code_sha256 == lambda_package.code_sha256


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dynamodb_server(monkeypatch):
    """moto as a server on loopback: the package runs in another process."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _lambda_runtime_dir(tmp_path: Path) -> Path:
    """What Lambda's python3.11 runtime adds to the standard library: the AWS SDK, nothing else."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3

    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        (runtime / module.__name__).symlink_to(Path(module.__file__).parent)
    (runtime / "six.py").symlink_to(Path(six.__file__))
    return runtime


SERVE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import orjson, pydantic, pydantic_core
from service.api import lambda_entry
# Nothing came from this machine's environment: the vendored packages are the zip's.
for module in (orjson, pydantic, pydantic_core):
    assert module.__file__.startswith(sys.argv[1]), module.__file__

def event(method, resource, path, body=None, params=None):
    claims = {"sub": "3f1c9a52-7d6e-4b1a-9c1e-2a7f5e0d8b11", "cognito:username": "load-0001", "token_use": "id",
              "exp": "Thu Jan 01 00:00:00 UTC 2099", "iss": "https://cognito-idp.ap-northeast-2.amazonaws.com/pool"}
    return {"resource": resource, "path": path, "httpMethod": method, "headers": {"Content-Type": "application/json"},
            "queryStringParameters": None, "pathParameters": params, "stageVariables": None, "isBase64Encoded": False,
            "body": body, "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "prod",
            "operationName": None, "requestId": "r-1", "authorizer": {"claims": claims}}}

class Context:  # Lambda's context object: a plain object the handler may set attributes on
    aws_request_id = "r-1"

created = lambda_entry.handler(event("POST", "/todos", "/todos", json.dumps({"title": "rehearse the drill"})), Context())
todo_id = json.loads(created["body"])["id"]
read = lambda_entry.handler(event("GET", "/todos/{id}", "/todos/" + todo_id, params={"id": todo_id}), Context())
anonymous = event("GET", "/todos", "/todos")
del anonymous["requestContext"]["authorizer"]
print(json.dumps({"created": created["statusCode"], "read": read["statusCode"], "title": json.loads(read["body"])["title"],
                  "anonymous": lambda_entry.handler(anonymous, Context())["statusCode"]}))
"""


def test_the_unzipped_package_serves_a_cognito_authorized_request(lambda_package, dynamodb_server, tmp_path) -> None:
    task = tmp_path / "task"  # Lambda unzips the package into /var/task: compiled modules cannot load from a zip
    zipfile.ZipFile(lambda_package.path).extractall(task)
    runtime = _lambda_runtime_dir(tmp_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "ap-northeast-2",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_server, "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "TABLE_NAME": "todos", "AWS_LAMBDA_FUNCTION_NAME": "todo-api",
    }
    create_table(make_client("ap-northeast-2", dynamodb_server), "todos")
    # -S: no site-packages, so only the standard library, the package and the runtime's SDK can be imported.
    done = subprocess.run([sys.executable, "-S", "-c", SERVE, str(task), str(runtime)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"created": 201, "read": 200, "title": "rehearse the drill", "anonymous": 401}
    items = make_client("ap-northeast-2", dynamodb_server).scan(TableName="todos")["Items"]
    assert [i["userId"]["S"] for i in items] == ["3f1c9a52-7d6e-4b1a-9c1e-2a7f5e0d8b11"]  # the authorizer's sub


def test_package_lambda_refuses_a_path_that_is_no_zip(tmp_path, capsys) -> None:
    assert main(["package-lambda", str(tmp_path / "todo-api.tar")]) == 2
    assert "must be a .zip file" in capsys.readouterr().err
