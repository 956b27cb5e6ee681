"""Errors of the control API: each carries its HTTP status and a snake_case code."""

from __future__ import annotations


class ControlError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ControlError):
    status = 400
    code = "validation_error"


class NotFound(ControlError):
    status = 404
    code = "not_found"


class Conflict(ControlError):
    status = 409
    code = "conflict"


class RegionUnavailable(ControlError):
    """The region is down: like an AWS regional endpoint during an outage, it takes no calls."""

    status = 409
    code = "region_unavailable"
