"""The route table is the one source of truth: functions dispatch on its operation ids."""

from __future__ import annotations

import pytest

from service.api.routes import ROUTES, Integration, bind_operations, operation_id
from service.api.todos import TodoApi
from service.runtime.events import build_event
from service.runtime.function import FunctionConfig, LambdaContext
from service.store.sqlite import SqliteTodoStore


def _event(method: str, resource: str, operation: str | None = None) -> dict:
    context: dict = {"requestId": "r1"}
    if operation is not None:
        context["operationName"] = operation
    return {"httpMethod": method, "resource": resource, "path": resource, "headers": {},
            "queryStringParameters": None, "pathParameters": None, "requestContext": context,
            "body": None, "isBase64Encoded": False}


def test_the_gateway_passes_the_operation_id_as_api_gateway_does() -> None:
    for route in ROUTES:
        event = build_event(route=route, path=route.resource, path_params=None, query_string=b"", headers={},
                            body=b"", request_id="r1", source_ip="127.0.0.1", claims=None)
        assert event["requestContext"]["operationName"] == route.operation
        assert operation_id(event) == route.operation


def test_without_an_operation_name_the_table_names_the_operation() -> None:
    assert operation_id(_event("PATCH", "/todos/{id}")) == "updateTodo"
    assert operation_id(_event("PUT", "/todos/{id}")) is None


def test_the_handler_dispatches_on_the_operation_id(tmp_path) -> None:
    api = TodoApi(SqliteTodoStore(tmp_path / "t.db"), FunctionConfig())
    # The operation id decides, whatever the method and resource strings say.
    response = api(_event("DELETE", "/somewhere", operation="health"), LambdaContext(api.config, "r1"))
    assert response["statusCode"] == 200 and '"status":"ok"' in response["body"]
    assert api(_event("GET", "/health", operation="nope"), LambdaContext(api.config, "r1"))["statusCode"] == 404


def test_handlers_must_cover_exactly_the_operations_the_table_routes_to_them() -> None:
    todo_operations = {r.operation for r in ROUTES if r.integration is Integration.TODO_API}
    handlers = {operation: object() for operation in todo_operations}
    assert bind_operations(Integration.TODO_API, handlers) == handlers
    with pytest.raises(ValueError, match="no handler for \\['health'\\]"):
        bind_operations(Integration.TODO_API, {k: v for k, v in handlers.items() if k != "health"})
    with pytest.raises(ValueError, match="signIn"):
        bind_operations(Integration.TODO_API, {**handlers, "signIn": object()})
