"""/openapi.json, generated from the route table and the pydantic models."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api.models import ID_PATTERN
from service.api.routes import ROUTES, Route

REF = "#/components/schemas/{model}"


def _models(routes: tuple[Route, ...]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in routes:
        if route.body is not None:
            found[route.body.__name__] = route.body
        for model in route.responses.values():
            if isinstance(model, type):
                found[model.__name__] = model
    return list(found.values())


def _response(status: int, model: type[BaseModel] | str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if isinstance(model, type):
        answer["content"] = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}
    elif isinstance(model, str):
        answer["content"] = {model: {"schema": {"type": "string" if model.startswith("text/") else "object"}}}
    return answer


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": [route.integration.value],
        "security": [{"bearerAuth": []}] if route.auth else [],
        "responses": {str(s): _response(s, m) for s, m in sorted(route.responses.items())},
    }
    params: list[dict[str, Any]] = []
    if "{id}" in route.resource:
        params.append({"name": "id", "in": "path", "required": True,
                       "schema": {"type": "string", "pattern": ID_PATTERN}})
    for q in route.query:
        params.append({"name": q.name, "in": "query", "required": False, "schema": q.schema,
                       "description": q.description})
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=route.body.__name__)}}},
        }
    return op


def build_openapi(routes: tuple[Route, ...] = ROUTES, *, version: str = "0.1.0") -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "validation") for m in _models(routes)], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.resource, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hanbit TODO API (bundled service)",
            "version": version,
            "description": "Errors are always {\"error\": {\"code\", \"message\"}}. Request bodies over "
                           "16 KiB are refused with 413 payload_too_large.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
