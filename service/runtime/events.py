"""HTTP request -> API Gateway REST (v1) Lambda proxy event."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qsl

from service.api.routes import Route
from service.runtime.function import Event

STAGE = "prod"


def parse_query(raw: bytes) -> dict[str, str]:
    """`queryStringParameters`: decoded values, the last one of a repeated name."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    # Nothing to decode (e.g. ?limit=20): parse_qsl's generality would cost more than the request's routing.
    query = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            query[name] = value
    return query


def build_event(
    *,
    route: Route,
    path: str,
    path_params: dict[str, str] | None,
    query_string: bytes,
    headers: dict[str, str],
    body: bytes,
    request_id: str,
    source_ip: str,
    claims: dict[str, Any] | None,
) -> Event:
    query = parse_query(query_string) if query_string else None
    text: str | None = None
    is_base64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # API Gateway passes bytes that are not text as base64
            text = base64.b64encode(body).decode("ascii")
            is_base64 = True
    request_context: dict[str, Any] = {
        "requestId": request_id,
        "resourcePath": route.resource,
        "operationName": route.operation,  # the operationId, as API Gateway passes it
        "httpMethod": route.method,
        "path": f"/{STAGE}{path}",
        "stage": STAGE,
        "requestTimeEpoch": time.time_ns() // 1_000_000,
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent")},
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": claims, "principalId": claims.get("sub")}
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": route.method,
        "headers": headers,
        "queryStringParameters": query,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": is_base64,
    }
