"""The same API over the DynamoDB store (moto), both through the gateway and as a Lambda handler."""

from __future__ import annotations

import json
import types

import pytest

from service.settings import ServiceSettings
from service.store import StoreKind


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    with mock_aws():
        from service.store.dynamodb import create_table, make_client

        create_table(make_client("ap-northeast-2"), "todos")
        yield


def test_gateway_over_dynamodb(aws, client_for, tmp_path) -> None:
    client = client_for(ServiceSettings(data_dir=tmp_path / "d", store=StoreKind.DYNAMODB,
                                        password_cost_log2=11))
    assert client.get("/health").json()["store"] == "dynamodb"
    client.post("/auth/signup", json={"username": "alice", "password": "s3cret-pass"})
    token = client.post("/auth/token", json={"username": "alice", "password": "s3cret-pass"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    created = client.post("/todos", json={"id": "d1", "title": "on dynamo", "due": "2030-01-01"}, headers=auth)
    assert created.status_code == 201
    assert client.post("/todos", json={"id": "d1", "title": "again"}, headers=auth).status_code == 200
    for i in range(4):
        client.post("/todos", json={"id": f"d{i + 2}", "title": f"t{i}"}, headers=auth)
    assert client.patch("/todos/d3", json={"done": True}, headers=auth).json()["done"] is True
    page = client.get("/todos", params={"limit": "2"}, headers=auth).json()
    assert [t["id"] for t in page["items"]] == ["d1", "d2"] and page["next_cursor"]
    rest = client.get("/todos", params={"cursor": page["next_cursor"]}, headers=auth).json()
    assert [t["id"] for t in rest["items"]] == ["d3", "d4", "d5"] and rest["next_cursor"] is None
    assert [t["id"] for t in client.get("/todos", params={"done": "true"}, headers=auth).json()["items"]] == ["d3"]
    assert client.delete("/todos/d1", headers=auth).status_code == 204
    assert client.get("/todos/d1", headers=auth).status_code == 404


def test_lambda_entry_point_runs_the_same_handler(aws, monkeypatch) -> None:
    from service.api import lambda_entry

    monkeypatch.setenv("TABLE_NAME", "todos")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "42")
    lambda_entry.reset()
    context = types.SimpleNamespace(aws_request_id="r1", user_id=None, error=None)

    def event(method: str, resource: str, path: str, body: dict | None = None, todo_id: str | None = None):
        return {
            "resource": resource, "path": path, "httpMethod": method, "headers": {},
            "queryStringParameters": None, "pathParameters": {"id": todo_id} if todo_id else None,
            "requestContext": {"requestId": "r1", "authorizer": {"claims": {"sub": "user-1"}}},
            "body": json.dumps(body) if body else None, "isBase64Encoded": False,
        }

    created = lambda_entry.handler(event("POST", "/todos", "/todos", {"title": "from lambda"}), context)
    assert created["statusCode"] == 201
    todo_id = json.loads(created["body"])["id"]
    got = lambda_entry.handler(event("GET", "/todos/{id}", f"/todos/{todo_id}", todo_id=todo_id), context)
    assert json.loads(got["body"])["title"] == "from lambda"
    health = lambda_entry.handler(event("GET", "/health", "/health"), context)
    assert json.loads(health["body"])["function_version"] == "42"
    no_claims = event("GET", "/todos", "/todos")
    no_claims["requestContext"].pop("authorizer")
    assert lambda_entry.handler(no_claims, context)["statusCode"] == 401
    lambda_entry.reset()
