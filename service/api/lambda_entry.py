"""The `todo-api` handler as AWS Lambda would load it: `service.api.lambda_entry.handler`.

On Lambda the function's configuration arrives in the environment (TABLE_NAME,
AWS_REGION, AWS_LAMBDA_FUNCTION_VERSION, ...), the table is DynamoDB, and API Gateway's
Cognito authorizer puts the caller in `requestContext.authorizer.claims`, exactly what
the bundled runtime does. The store is built once per container (the init phase).
"""

from __future__ import annotations

import os
from typing import Any

from service.api.todos import TodoApi
from service.proxy import ProxyResponse
from service.runtime.function import FunctionConfig

_api: TodoApi | None = None


def _config_from_env() -> FunctionConfig:
    env = os.environ
    return FunctionConfig(
        function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "todo-api"),
        version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        memory_mb=int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")),
        region=env.get("AWS_REGION", "ap-northeast-2"),
        table_name=env.get("TABLE_NAME", "todos"),
    )


def handler(event: dict[str, Any], context: Any) -> ProxyResponse:
    global _api
    if _api is None:
        from service.store.dynamodb import DynamoTodoStore, make_client

        config = _config_from_env()
        _api = TodoApi(DynamoTodoStore(config.table_name, client=make_client(config.region)), config)
    return _api(event, context)


def reset() -> None:
    """Forget the loaded store (a new container); for tests."""
    global _api
    _api = None
