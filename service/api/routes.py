"""The route table: the API Gateway resources, which function serves each, and what it answers.

The gateway matches requests with it, /openapi.json is generated from it, and the
functions dispatch on its operation ids (`operation_id(event)`; a function names only
operations, checked against the table by `bind_operations`), so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, TypeVar

from pydantic import BaseModel

from service.api import models
from service.runtime.function import Event


class Integration(StrEnum):
    TODO_API = "todo-api"  # the Lambda function of the manual
    AUTH = "auth"  # the Cognito stand-in
    GATEWAY = "gateway"  # answered by the runtime itself (metrics, spec)


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, object]
    description: str


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # API Gateway resource path, e.g. /todos/{id}
    operation: str  # operationId, and the `function` field of log lines
    integration: Integration
    auth: bool
    summary: str
    body: type[BaseModel] | None = None
    query: tuple[QueryParam, ...] = ()
    # status -> response model (None: no body; str: a media type answered as text)
    responses: dict[int, type[BaseModel] | str | None] = field(default_factory=dict)


_E = models.Error
_AUTH_ERRORS: dict[int, type[BaseModel] | str | None] = {401: _E}
_BODY_ERRORS: dict[int, type[BaseModel] | str | None] = {400: _E, 413: _E}
_TABLE_ERRORS: dict[int, type[BaseModel] | str | None] = {502: _E, 503: _E}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health", Integration.TODO_API, False,
          "Liveness of the function and its table",
          responses={200: models.Health, 502: _E, 503: models.Health}),
    Route("POST", "/auth/signup", "signUp", Integration.AUTH, False, "Create a user",
          body=models.NewUser, responses={201: models.SignedUp, 409: _E, **_BODY_ERRORS}),
    Route("POST", "/auth/token", "signIn", Integration.AUTH, False,
          "Sign in: a bearer access token (429 after 10 failures per user per minute)",
          body=models.Credentials,
          responses={200: models.Token, 401: _E, 429: _E, **_BODY_ERRORS}),
    Route("POST", "/auth/revoke", "revokeToken", Integration.AUTH, True,
          "Blacklist the calling token's jti", responses={200: models.Revoked, **_AUTH_ERRORS}),
    Route("POST", "/todos", "createTodo", Integration.TODO_API, True,
          "Create a todo; with a client `id` an existing todo is returned (200), not duplicated",
          body=models.CreateTodo,
          responses={201: models.Todo, 200: models.Todo, **_BODY_ERRORS, **_AUTH_ERRORS,
                     **_TABLE_ERRORS}),
    Route("GET", "/todos", "listTodos", Integration.TODO_API, True, "The caller's todos, by id",
          query=(
              QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                         "page size"),
              QueryParam("cursor", {"type": "string"}, "`next_cursor` of the previous page"),
              QueryParam("done", {"type": "string", "enum": ["true", "false"]}, "filter by done"),
          ),
          responses={200: models.TodoPage, 400: _E, **_AUTH_ERRORS, **_TABLE_ERRORS}),
    Route("GET", "/todos/{id}", "getTodo", Integration.TODO_API, True, "One of the caller's todos",
          responses={200: models.Todo, 404: _E, **_AUTH_ERRORS, **_TABLE_ERRORS}),
    Route("PATCH", "/todos/{id}", "updateTodo", Integration.TODO_API, True,
          "Change title and/or done", body=models.UpdateTodo,
          responses={200: models.Todo, 404: _E, **_BODY_ERRORS, **_AUTH_ERRORS, **_TABLE_ERRORS}),
    Route("DELETE", "/todos/{id}", "deleteTodo", Integration.TODO_API, True, "Delete a todo",
          responses={204: None, 404: _E, **_AUTH_ERRORS, **_TABLE_ERRORS}),
    Route("GET", "/metrics", "metrics", Integration.GATEWAY, False,
          "Prometheus text: requests, errors by status, latency histogram per route",
          responses={200: "text/plain"}),
    Route("GET", "/openapi.json", "openapi", Integration.GATEWAY, False, "This document",
          responses={200: "application/json"}),
)


# For events that carry no `requestContext.operationName` (e.g. an API deployed without them).
_OPERATION_IDS: dict[tuple[str, str], str] = {(route.method, route.resource): route.operation for route in ROUTES}

H = TypeVar("H")


def operation_id(event: Event) -> str | None:
    """The operationId of the route a proxy event came through: `requestContext.operationName`,
    as API Gateway passes it, else the table's operation of the event's method and resource."""
    operation = event["requestContext"].get("operationName")
    if operation is None:
        operation = _OPERATION_IDS.get((event.get("httpMethod"), event.get("resource")))
    return operation


def bind_operations(integration: Integration, handlers: Mapping[str, H],
                    routes: tuple[Route, ...] = ROUTES) -> dict[str, H]:
    """A function's handlers by operationId, checked against the table: exactly the operations
    it routes to `integration` (ValueError naming the difference otherwise)."""
    expected = {route.operation for route in routes if route.integration is integration}
    missing, unknown = expected - set(handlers), set(handlers) - expected
    if missing or unknown:
        raise ValueError(f"{integration.value}: no handler for {sorted(missing)}, "
                         f"handlers for operations the route table does not route here: {sorted(unknown)}")
    return dict(handlers)


class Match(NamedTuple):
    route: Route | None  # None: 404 when `allowed` is empty, else 405
    path_params: dict[str, str] | None
    allowed: tuple[str, ...] = ()


_new_tuple = tuple.__new__  # Match(...) would run the NamedTuple's Python-level __new__


class Router:
    """Static resources by dict lookup; templated ones (`{name}` = one path segment) segment by segment."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self.routes = routes
        self._static: dict[str, dict[str, Route]] = {}
        templated: dict[str, dict[str, Route]] = {}
        for route in routes:
            target = templated if "{" in route.resource else self._static
            target.setdefault(route.resource, {})[route.method] = route
        # Templated resources: (literal prefix up to the first parameter, the rest of the template's
        # segments, routes by method). A parameter is one non-empty segment.
        self._templated: list[tuple[str, list[str], dict[str, Route]]] = []
        # Literal path + one trailing parameter (e.g. /todos/{id}), by that literal parent path:
        # one dict lookup for the most requested resource. Literal segments win over parameters,
        # as in API Gateway, so these go before the general templates.
        self._last_param: dict[str, tuple[str, dict[str, Route]]] = {}
        for resource, by_method in templated.items():
            prefix, _, rest = resource.partition("{")
            self._templated.append((prefix, ("{" + rest).split("/"), by_method))
            if prefix.endswith("/") and rest.count("{") == 0 and rest.endswith("}") and "/" not in rest:
                self._last_param[prefix[:-1]] = (rest[:-1], by_method)

    def match(self, method: str, path: str) -> Match:
        by_method = self._static.get(path)
        params: dict[str, str] | None = None
        if by_method is None:
            parent, _, last = path.rpartition("/")
            trailing = self._last_param.get(parent)
            if trailing is not None and last:
                by_method, params = trailing[1], {trailing[0]: last}
        if by_method is None:
            for prefix, template, candidate in self._templated:
                if path.startswith(prefix):
                    rest = path[len(prefix):]
                    if len(template) == 1 and template[0][0] == "{":  # e.g. /todos/{id}: the common case
                        if rest and "/" not in rest:
                            by_method, params = candidate, {template[0][1:-1]: rest}
                            break
                        continue
                    parts = rest.split("/")
                    if len(parts) == len(template):
                        values: dict[str, str] = {}
                        for part, want in zip(parts, template, strict=True):
                            if want[0] == "{":
                                if not part:
                                    break
                                values[want[1:-1]] = part
                            elif part != want:
                                break
                        else:
                            by_method, params = candidate, values
                            break
            else:
                return Match(None, None)
        route = by_method.get(method)
        if route is None:
            return Match(None, None, tuple(sorted(by_method)))
        return _new_tuple(Match, (route, params, ()))
