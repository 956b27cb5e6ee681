"""API Gateway (REST v1) Lambda proxy responses and the one error shape of the HTTP contract.

A proxy response is `{"statusCode", "headers", "body", "isBase64Encoded"}` with a text body;
every error body is `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from typing import Any

import orjson

JSON_HEADERS = {"content-type": "application/json"}
ProxyResponse = dict[str, Any]


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> ProxyResponse:
    return json_text_response(status, orjson.dumps(payload).decode(), headers)


def json_text_response(status: int, text: str, headers: dict[str, str] | None = None) -> ProxyResponse:
    """A response whose body is JSON text already serialised (e.g. memoised)."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **headers} if headers else JSON_HEADERS,
        "body": text,
        "isBase64Encoded": False,
    }


def empty_response(status: int = 204) -> ProxyResponse:
    return {"statusCode": status, "headers": {}, "body": "", "isBase64Encoded": False}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> ProxyResponse:
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class ApiError(Exception):
    """Raised inside a handler; becomes an error response (never a 500 for the caller's mistakes)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def response(self) -> ProxyResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"www-authenticate": "Bearer"})
