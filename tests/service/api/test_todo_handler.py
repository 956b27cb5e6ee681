"""`TodoApi` as a plain Lambda handler: proxy event in, proxy response out; store failures."""

from __future__ import annotations

import json

import pytest

from service.api.todos import TodoApi, decode_cursor, encode_cursor
from service.proxy import ApiError
from service.runtime.function import FunctionConfig, LambdaContext
from service.store import StoreThrottled, StoreUnavailable
from service.store.sqlite import SqliteTodoStore


def _event(method: str, resource: str, *, sub: str | None = "user-1", body: object = None,
           todo_id: str | None = None, query: dict | None = None) -> dict:
    ctx: dict = {"requestId": "req"}
    if sub:
        ctx["authorizer"] = {"claims": {"sub": sub}}
    return {"resource": resource, "path": resource.replace("{id}", todo_id or ""), "httpMethod": method,
            "headers": {}, "queryStringParameters": query, "pathParameters": {"id": todo_id} if todo_id else None,
            "requestContext": ctx, "body": None if body is None else json.dumps(body), "isBase64Encoded": False}


@pytest.fixture
def api(tmp_path) -> TodoApi:
    return TodoApi(SqliteTodoStore(tmp_path / "t.db"), FunctionConfig(version="3", region="ap-northeast-1"))


def _call(api: TodoApi, event: dict) -> tuple[int, object, LambdaContext]:
    context = LambdaContext(api.config, "req")
    response = api(event, context)
    body = json.loads(response["body"]) if response["body"] else None
    return response["statusCode"], body, context


def test_handler_round_trip_and_caller_in_context(api) -> None:
    status, todo, context = _call(api, _event("POST", "/todos", body={"title": "x"}))
    assert status == 201 and context.user_id == "user-1"
    status, got, _ = _call(api, _event("GET", "/todos/{id}", todo_id=todo["id"]))
    assert (status, got) == (200, todo)
    status, health, _ = _call(api, _event("GET", "/health", sub=None))
    assert health == {"status": "ok", "region": "ap-northeast-1", "function_version": "3",
                      "store": "sqlite", "table": "todos"}


def test_without_authorizer_claims_the_handler_refuses(api) -> None:
    status, body, _ = _call(api, _event("GET", "/todos", sub=None))
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_unknown_resource_is_404(api) -> None:
    status, body, _ = _call(api, _event("GET", "/elsewhere"))
    assert status == 404


class _Failing:
    kind, table, blocking = "sqlite", "todos", False

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise self.exc
        return fail


def test_throttled_table_is_503_and_recorded_as_error() -> None:
    api = TodoApi(_Failing(StoreThrottled("todos: ProvisionedThroughputExceededException")), FunctionConfig())
    status, body, context = _call(api, _event("GET", "/todos/{id}", todo_id="a"))
    assert status == 503 and body["error"]["code"] == "ProvisionedThroughputExceededException"
    assert context.error is not None and context.error.name == "ProvisionedThroughputExceededException"


def test_unreachable_table_fails_health_with_503() -> None:
    api = TodoApi(_Failing(StoreUnavailable("table todos does not exist")), FunctionConfig())
    status, body, context = _call(api, _event("GET", "/health", sub=None))
    assert status == 503 and body["status"] == "unavailable" and "does not exist" in body["message"]


def test_unreachable_table_on_a_todo_route_is_an_unhandled_function_error() -> None:
    api = TodoApi(_Failing(StoreUnavailable("gone")), FunctionConfig())
    with pytest.raises(StoreUnavailable):  # the runtime turns it into 502 function_error
        api(_event("GET", "/todos/{id}", todo_id="a"), LambdaContext(api.config, "req"))


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor("01HXYZ-abc_1")) == "01HXYZ-abc_1"
    for bad in ("", "%%%", encode_cursor("has space")):
        with pytest.raises(ApiError):
            decode_cursor(bad)
