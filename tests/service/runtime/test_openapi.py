"""/openapi.json describes the API accurately: every route, and the shapes the service really answers."""

from __future__ import annotations

import re

import pytest

from service.api.openapi import build_openapi
from service.api.routes import ROUTES, Router


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def validate(spec: dict, schema: dict, value, where: str = "$") -> list[str]:
    """A small JSON Schema check for the keywords the spec uses; returns the problems found."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        if any(not validate(spec, s, value, where) for s in schema["anyOf"]):
            return []
        return [f"{where}: matches none of anyOf"]
    problems: list[str] = []
    kinds = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list, "null": type(None)}
    kind = schema.get("type")
    if kind:
        ok = isinstance(value, kinds[kind]) and not (kind == "integer" and isinstance(value, bool))
        if not ok:
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
            problems.append(f"{where}: length out of bounds")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: missing {name}")
        for name, item in value.items():
            if name in props:
                problems += validate(spec, props[name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unexpected {name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += validate(spec, schema["items"], item, f"{where}[{i}]")
    return problems


def test_served_spec_is_the_generated_one(client) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == build_openapi()
    assert r.json()["openapi"].startswith("3.1")


def test_every_route_is_in_the_spec_and_nothing_else() -> None:
    spec = build_openapi()
    in_spec = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    in_router = {(r.method, r.resource) for r in Router().routes}
    assert in_spec == in_router
    for route in ROUTES:
        op = spec["paths"][route.resource][route.method.lower()]
        assert op["operationId"] == route.operation
        assert (op["security"] != []) == route.auth
        assert ("requestBody" in op) == (route.body is not None)
        if route.body is not None:
            body = _resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])
            assert body["additionalProperties"] is False  # unknown fields are refused, as served


def test_every_ref_resolves() -> None:
    spec = build_openapi()
    text = str(spec)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in spec["components"]["schemas"], name


def _check(spec, route_method: str, resource: str, response) -> None:
    op = spec["paths"][resource][route_method.lower()]
    declared = op["responses"]
    assert str(response.status_code) in declared, (route_method, resource, response.status_code)
    content = declared[str(response.status_code)].get("content", {})
    if "application/json" in content:
        problems = validate(spec, content["application/json"]["schema"], response.json())
        assert not problems, (route_method, resource, problems)
    else:
        assert response.content == b"" or not content.get("application/json")


def test_real_responses_match_the_declared_schemas(client, make_user) -> None:
    spec = build_openapi()
    _check(spec, "GET", "/health", client.get("/health"))
    creds = {"username": "alice", "password": "s3cret-pass"}
    _check(spec, "POST", "/auth/signup", client.post("/auth/signup", json=creds))
    _check(spec, "POST", "/auth/signup", client.post("/auth/signup", json=creds))  # 409
    _check(spec, "POST", "/auth/signup", client.post("/auth/signup", content=b"{"))  # 400
    _check(spec, "POST", "/auth/token", client.post("/auth/token", json={**creds, "password": "nope"}))  # 401
    token_response = client.post("/auth/token", json=creds)
    _check(spec, "POST", "/auth/token", token_response)
    auth = {"Authorization": f"Bearer {token_response.json()['access_token']}"}
    created = client.post("/todos", json={"title": "t", "id": "a1", "due": "2030-01-01"}, headers=auth)
    _check(spec, "POST", "/todos", created)
    _check(spec, "POST", "/todos", client.post("/todos", json={"title": "t", "id": "a1"}, headers=auth))  # 200
    _check(spec, "POST", "/todos", client.post("/todos", json={"title": "x" * 300}, headers=auth))  # 400
    _check(spec, "POST", "/todos", client.post("/todos", content=b"x" * 20000, headers=auth))  # 413
    _check(spec, "POST", "/todos", client.post("/todos", json={"title": "t"}))  # 401
    _check(spec, "GET", "/todos", client.get("/todos", headers=auth))
    _check(spec, "GET", "/todos", client.get("/todos", params={"limit": "0"}, headers=auth))  # 400
    _check(spec, "GET", "/todos/{id}", client.get("/todos/a1", headers=auth))
    _check(spec, "GET", "/todos/{id}", client.get("/todos/zz", headers=auth))  # 404
    _check(spec, "PATCH", "/todos/{id}", client.patch("/todos/a1", json={"done": True}, headers=auth))
    _check(spec, "PATCH", "/todos/{id}", client.patch("/todos/a1", json={"done": "y"}, headers=auth))  # 400
    _check(spec, "DELETE", "/todos/{id}", client.delete("/todos/a1", headers=auth))  # 204
    _check(spec, "DELETE", "/todos/{id}", client.delete("/todos/a1", headers=auth))  # 404
    _check(spec, "POST", "/auth/revoke", client.post("/auth/revoke", headers=auth))
    _check(spec, "POST", "/auth/revoke", client.post("/auth/revoke", headers=auth))  # 401 now


@pytest.mark.parametrize("value,ok", [({"error": {"code": "x", "message": "y"}}, True),
                                      ({"error": {"code": "x"}}, False),
                                      ({"error": {"code": "x", "message": "y", "extra": 1}}, False)])
def test_the_checker_itself_can_fail(value, ok) -> None:
    spec = build_openapi()
    assert (not validate(spec, {"$ref": "#/components/schemas/Error"}, value)) == ok
