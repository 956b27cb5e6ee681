"""The one place where boto3/botocore failures become harness errors.

Every AWS call of the provider goes through `AwsClients.call`, which hands any
failure to `translate`: the message always names the operation and, for an API
error, the AWS error code, so an operator can look it up in the AWS docs.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, WaiterError

from common.errors import ProviderError


class AwsApiError(ProviderError):
    """An AWS API call failed. `code` is the AWS error code ("" when AWS was never reached)."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        detail = f"{code}: {message}" if code else message
        super().__init__(f"AWS {operation} failed: {detail}")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, AwsApiError):
        return exc.code
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def translate(operation: str, exc: Exception) -> AwsApiError:
    """Map a boto3/botocore exception raised by `operation` (e.g. "lambda:UpdateAlias")."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return AwsApiError(operation, str(err.get("Code", "Unknown")), str(err.get("Message", exc)))
    if isinstance(exc, NoCredentialsError):
        return AwsApiError(
            operation,
            "NoCredentials",
            "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        )
    if isinstance(exc, WaiterError):
        reason = exc.last_response.get("Error", {}).get("Code", "") if exc.last_response else ""
        return AwsApiError(operation, str(reason or "WaiterError"), str(exc))
    if isinstance(exc, BotoCoreError):
        return AwsApiError(operation, type(exc).__name__, str(exc))
    raise exc
