"""Request bodies (validated strictly) and response shapes (used by /openapi.json and tests)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.proxy import ApiError
from service.store.base import Priority

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]{3,64}$"
ID_RE = re.compile(ID_PATTERN)
M = TypeVar("M", bound=BaseModel)
MAX_TITLE = 200


class _Body(BaseModel):
    # strict: "true" is not a boolean and 1 is not a string; extra fields are an error.
    model_config = ConfigDict(extra="forbid", strict=True)


class Credentials(_Body):
    """Sign-in. Any password length is tried: a short one is simply wrong (401), not a 400."""

    username: str = Field(..., min_length=1, max_length=128)
    password: str = Field(..., min_length=1, max_length=256)


class NewUser(_Body):
    username: str = Field(..., pattern=USERNAME_PATTERN, description="3-64 of A-Z a-z 0-9 _ . @ + -")
    password: str = Field(..., min_length=8, max_length=256)


class CreateTodo(_Body):
    title: str = Field(..., min_length=1, max_length=MAX_TITLE)
    id: str | None = Field(None, pattern=ID_PATTERN, description="client-chosen id: idempotent, traceable writes")
    due: str | None = Field(None, description="ISO 8601 date or date-time", examples=["2030-01-31T09:00:00Z"])
    priority: Priority = Priority.NORMAL

    @field_validator("due")
    @classmethod
    def _iso_8601(cls, value: str | None) -> str | None:
        """Normalise: a date stays a date; a date-time becomes UTC with ms and `Z` (naive = UTC)."""
        if value is None:
            return None
        try:
            if len(value) == 10:
                return date.fromisoformat(value).isoformat()
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("due must be an ISO 8601 date or date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UpdateTodo(_Body):
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    done: bool | None = None


# ---- responses ------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Todo(_Out):
    id: str
    title: str
    done: bool
    due: str | None
    priority: Priority
    created_at: str = Field(..., description="ISO 8601 UTC with milliseconds")
    updated_at: str = Field(..., description="ISO 8601 UTC with milliseconds")


class TodoPage(_Out):
    items: list[Todo]
    next_cursor: str | None = Field(..., description="pass as `cursor` for the next page; null at the end")


class ErrorBody(_Out):
    code: str
    message: str


class Error(_Out):
    error: ErrorBody


class Health(_Out):
    status: str = Field(..., description="ok, or unavailable when the table does not answer")
    region: str
    function_version: str
    store: str
    table: str
    message: str | None = None


class SignedUp(_Out):
    username: str


class Token(_Out):
    access_token: str
    token_type: str = Field(..., pattern="^Bearer$")
    expires_in: int


class Revoked(_Out):
    revoked: str = Field(..., description="the revoked token's jti")


# ---- parsing --------------------------------------------------------------------------------


def parse_body(model: type[M], body: str | None, is_base64: bool = False) -> M:
    """Validate a request body, mapping every failure to a 400 of the contract."""
    raw: str | bytes = body or ""
    if is_base64:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _as_api_error(exc) from None


def _as_api_error(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False)
    kinds = {e["type"] for e in errors}
    if "json_invalid" in kinds:
        return ApiError(400, "invalid_json", "request body is not valid JSON")
    unknown = [".".join(map(str, e["loc"])) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return ApiError(400, "unknown_field", "unknown field(s): " + ", ".join(sorted(unknown)))
    parts = []
    for e in errors:
        where = ".".join(map(str, e["loc"])) or "body"
        message = "must be a JSON object" if e["type"] == "model_type" else e["msg"]
        parts.append(f"{where}: {message}")
    return ApiError(400, "validation_error", "; ".join(parts))


def valid_id(value: str) -> bool:
    return ID_RE.match(value) is not None
