"""Cognito's InitiateAuth on the wire: the JSON 1.1 request bodies and what an answer means.

InitiateAuth is unauthenticated (no SigV4): a POST of JSON to the pool's regional endpoint with
`X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth`. The workers speak it with the load's
own gevent HTTP client (loadtests.signin); the harness, which has boto3, parses boto3's answer with
the same `tokens_from`.
"""

from __future__ import annotations

from typing import Literal

import orjson

from loadtests.tokens import Tokens, lifetime

TARGET_HEADER = "X-Amz-Target"
INITIATE_AUTH = "AWSCognitoIdentityProviderService.InitiateAuth"
CONTENT_TYPE = "application/x-amz-json-1.1"
TokenUse = Literal["id", "access"]


def password_body(client_id: str, username: str, password: str) -> bytes:
    return orjson.dumps({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": client_id,
        "AuthParameters": {"USERNAME": username, "PASSWORD": password},
    })


def refresh_body(client_id: str, refresh_token: str) -> bytes:
    return orjson.dumps({
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "ClientId": client_id,
        "AuthParameters": {"REFRESH_TOKEN": refresh_token},
    })


def tokens_from(answer: object, use: TokenUse) -> Tokens | None:
    """The tokens of an InitiateAuth answer (None: a challenge such as MFA or a new password, not tokens).

    A refresh answers without a refresh token (the old one stays valid), unless the app client rotates
    refresh tokens: then the new one replaces it."""
    if not isinstance(answer, dict):
        return None
    result = answer.get("AuthenticationResult")
    if not isinstance(result, dict):
        return None
    token = result.get("IdToken" if use == "id" else "AccessToken")
    if not isinstance(token, str) or not token:
        return None
    refresh = result.get("RefreshToken")
    return Tokens(token, lifetime(token, result.get("ExpiresIn")), refresh if isinstance(refresh, str) else None)


def challenge_of(answer: object) -> str | None:
    """The challenge an answer asks for instead of tokens (NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, ...)."""
    if isinstance(answer, dict) and isinstance(answer.get("ChallengeName"), str):
        return answer["ChallengeName"]
    return None


def error_of(body: bytes) -> tuple[str, str]:
    """(error code, message) of an AWS JSON error body, e.g. ("NotAuthorizedException", "...")."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", body[:200].decode("utf-8", "replace")
    if not isinstance(data, dict):
        return "", ""
    code = str(data.get("__type", "")).rsplit("#", 1)[-1]
    return code, str(data.get("message") or data.get("Message") or "")
