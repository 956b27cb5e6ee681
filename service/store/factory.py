"""Open the store a service instance is configured for."""

from __future__ import annotations

from pathlib import Path

from service.store.base import StoreKind, TodoStore


def open_store(
    kind: StoreKind,
    table: str,
    *,
    sqlite_path: Path,
    region: str,
    dynamodb_endpoint_url: str | None = None,
) -> TodoStore:
    if kind is StoreKind.SQLITE:
        from service.store.sqlite import SqliteTodoStore

        return SqliteTodoStore(sqlite_path, table)
    # boto3 costs ~40 MB per process: imported only when the DynamoDB store is used.
    from service.store.dynamodb import DynamoTodoStore, make_client

    return DynamoTodoStore(table, client=make_client(region, dynamodb_endpoint_url))
