"""Todo storage behind one protocol: SQLite (embedded default) and DynamoDB (boto3)."""

from service.store.base import (
    StoreError,
    StoreKind,
    StoreThrottled,
    StoreUnavailable,
    TodoItem,
    TodoPage,
    TodoStore,
    new_todo_id,
    now_ms,
    validate_table_name,
)
from service.store.factory import open_store

__all__ = [
    "StoreError",
    "StoreKind",
    "StoreThrottled",
    "StoreUnavailable",
    "TodoItem",
    "TodoPage",
    "TodoStore",
    "new_todo_id",
    "now_ms",
    "open_store",
    "validate_table_name",
]
