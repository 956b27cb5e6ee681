"""The `todo-api` function: todos of the signed-in caller, and /health.

The caller is whoever the gateway's authorizer vouched for in
`requestContext.authorizer.claims.sub` (as with a Cognito authorizer on API Gateway);
every store call is keyed by that id, so one user can never reach another's todos.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

from service.api.models import ID_RE, CreateTodo, UpdateTodo, parse_body, valid_id
from service.api.routes import Integration, bind_operations, operation_id
from service.proxy import (
    ApiError,
    ProxyResponse,
    empty_response,
    error_response,
    json_response,
    json_text_response,
    unauthorized,
)
from service.runtime.function import ErrorDetail, Event, FunctionConfig, Handler, LambdaContext
from service.store.base import StoreError, StoreThrottled, TodoItem, TodoStore, new_todo_id, now_ms

_match_id = ID_RE.match  # valid_id without its call: every item request checks one
_LIST_PARAMS = frozenset({"limit", "cursor", "done"})
_THROTTLED = "ProvisionedThroughputExceededException"


def _caller(event: Event, context: LambdaContext) -> str:
    authorizer = event["requestContext"].get("authorizer") or {}
    sub = (authorizer.get("claims") or {}).get("sub")
    if not sub:
        raise unauthorized("missing bearer token")
    context.user_id = sub
    return sub


def _todo_id(event: Event) -> str:
    todo_id = (event.get("pathParameters") or {}).get("id", "")
    if _match_id(todo_id) is None:
        raise ApiError(404, "not_found", "no such todo")  # such an id can never have been stored
    return todo_id


# An item's JSON text by the item itself. The key is the item's whole content as read from the
# table on this request, so a changed (or corrupted) row is simply a new key: this saves the
# formatting of rows read again and again, never a read.
_ITEM_JSON: dict[TodoItem, str] = {}
_ITEM_JSON_MAX = 20_000


def item_json(item: TodoItem) -> str:
    try:
        text = _ITEM_JSON.get(item)
    except TypeError:  # a damaged item holding e.g. a list: not a key, just format it
        return orjson.dumps(item.to_api()).decode()
    if text is None:
        if len(_ITEM_JSON) >= _ITEM_JSON_MAX:
            _ITEM_JSON.clear()
        text = _ITEM_JSON[item] = orjson.dumps(item.to_api()).decode()
    return text


def encode_cursor(todo_id: str) -> str:
    return base64.urlsafe_b64encode(todo_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        todo_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        todo_id = ""
    if not valid_id(todo_id):
        raise ApiError(400, "validation_error", "cursor: not a cursor this API returned")
    return todo_id


class TodoApi:
    """The handler: `TodoApi(store, config)(event, context) -> proxy response`."""

    def __init__(self, store: TodoStore, config: FunctionConfig) -> None:
        self.store = store
        self.config = config
        self._operations = bind_operations(Integration.TODO_API, {
            "health": self.health,
            "createTodo": self.create,
            "listTodos": self.list,
            "getTodo": self.get,
            "updateTodo": self.update,
            "deleteTodo": self.delete,
        })

    def __call__(self, event: Event, context: LambdaContext) -> ProxyResponse:
        operation = self._operations.get(operation_id(event))
        if operation is None:
            return error_response(404, "not_found", "no such resource")
        try:
            return operation(event, context)
        except ApiError as exc:
            return exc.response()
        except StoreThrottled as exc:
            context.error = ErrorDetail(_THROTTLED, str(exc))
            return error_response(503, _THROTTLED, "the table is throttling requests; retry with backoff")

    def health(self, event: Event, context: LambdaContext) -> ProxyResponse:
        body: dict[str, Any] = {
            "status": "ok",
            "region": self.config.region,
            "function_version": self.config.version,
            "store": str(self.store.kind),
            "table": self.store.table,
        }
        try:
            self.store.ping()
        except StoreError as exc:
            context.error = ErrorDetail(type(exc).__name__, str(exc))
            return json_response(503, {**body, "status": "unavailable", "message": str(exc)})
        return json_response(200, body)

    def create(self, event: Event, context: LambdaContext) -> ProxyResponse:
        user = _caller(event, context)
        body = parse_body(CreateTodo, event.get("body"), event.get("isBase64Encoded", False))
        now = now_ms()
        item = TodoItem(body.id or new_todo_id(), body.title, False, body.due, body.priority.value, now, now)
        stored, created = self.store.create(user, item)
        return json_text_response(201 if created else 200, item_json(stored), {"location": f"/todos/{stored.id}"})

    def list(self, event: Event, context: LambdaContext) -> ProxyResponse:
        user = _caller(event, context)
        query = event.get("queryStringParameters") or {}
        unknown = set(query) - _LIST_PARAMS
        if unknown:
            raise ApiError(400, "unknown_field", "unknown query parameter(s): " + ", ".join(sorted(unknown)))
        limit_text = query.get("limit", "20")
        if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 3) or not (
            1 <= int(limit_text) <= 100
        ):
            raise ApiError(400, "validation_error", "limit: must be an integer within 1..100")
        done_text = query.get("done")
        if done_text not in (None, "true", "false"):
            raise ApiError(400, "validation_error", "done: must be true or false")
        done = None if done_text is None else done_text == "true"
        after = decode_cursor(query["cursor"]) if query.get("cursor") else None
        page = self.store.list(user, limit=int(limit_text), after=after, done=done)
        cursor = f'"{encode_cursor(page.last_key)}"' if page.last_key else "null"  # base64url: no escaping
        return json_text_response(200, f'{{"items":[{",".join(map(item_json, page.items))}],"next_cursor":{cursor}}}')

    def get(self, event: Event, context: LambdaContext) -> ProxyResponse:
        user = _caller(event, context)
        item = self.store.get(user, _todo_id(event))
        if item is None:
            raise ApiError(404, "not_found", "no such todo")
        return json_text_response(200, item_json(item))

    def update(self, event: Event, context: LambdaContext) -> ProxyResponse:
        user = _caller(event, context)
        todo_id = _todo_id(event)
        body = parse_body(UpdateTodo, event.get("body"), event.get("isBase64Encoded", False))
        if body.title is None and body.done is None:
            raise ApiError(400, "validation_error", "body: give title and/or done")
        item = self.store.update(user, todo_id, title=body.title, done=body.done, updated_at=now_ms())
        if item is None:
            raise ApiError(404, "not_found", "no such todo")
        return json_text_response(200, item_json(item))

    def delete(self, event: Event, context: LambdaContext) -> ProxyResponse:
        user = _caller(event, context)
        if not self.store.delete(user, _todo_id(event)):
            raise ApiError(404, "not_found", "no such todo")
        return empty_response(204)


class TodoApiCode:
    """The deployable code of `todo-api`: one store per table name, shared by loaded versions."""

    def __init__(self, open_store: Callable[[str], TodoStore]) -> None:
        self._open_store = open_store
        self._stores: dict[str, TodoStore] = {}

    def load(self, config: FunctionConfig) -> Handler:
        store = self._stores.get(config.table_name)
        if store is None:
            store = self._stores[config.table_name] = self._open_store(config.table_name)
        return TodoApi(store, config)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
