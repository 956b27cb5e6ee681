"""DynamoDB todo store (boto3), with the layout a real deployment uses.

Table `todos`: partition key `userId` (S), sort key `todoId` (S), on-demand capacity.
Attributes: `title` (S), `done` (BOOL), `due` (S, absent when unset), `priority` (S),
`createdAt` / `updatedAt` (N, epoch ms). The function only needs GetItem, PutItem,
UpdateItem, DeleteItem and Query on the table (least privilege, as the manual asks).
Reads are strongly consistent so an acknowledged write is always read back.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.store.base import (
    StoreError,
    StoreKind,
    StoreThrottled,
    StoreUnavailable,
    TodoItem,
    TodoPage,
    validate_table_name,
)

_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_ITEM_ATTRS = "todoId, title, done, due, priority, createdAt, updatedAt"


def make_client(region: str, endpoint_url: str | None = None) -> Any:
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=64,
    )
    return boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
    )


def create_table(client: Any, table: str, *, point_in_time_recovery: bool = True) -> None:
    """Create the table as a deployment would (idempotent) and wait until it is active."""
    validate_table_name(table)
    try:
        client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "todoId", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "userId", "AttributeType": "S"},
                {"AttributeName": "todoId", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if point_in_time_recovery:
        client.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _item(raw: dict[str, dict[str, Any]]) -> TodoItem:
    def s(name: str) -> str | None:
        value = raw.get(name)
        return value.get("S") if value else None

    def n(name: str) -> int | None:
        value = raw.get(name)
        return int(value["N"]) if value and "N" in value else None

    done = raw.get("done")
    return TodoItem(
        id=raw["todoId"]["S"],
        title=s("title"),
        done=bool(done.get("BOOL")) if done else False,
        due=s("due"),
        priority=s("priority"),
        created_at=n("createdAt"),
        updated_at=n("updatedAt"),
    )


def _translate(exc: Exception, table: str) -> StoreError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _THROTTLED:
            return StoreThrottled(f"table {table}: {code}")
        if code == "ResourceNotFoundException":
            return StoreUnavailable(f"table {table} does not exist")
        return StoreError(f"table {table}: {code}: {exc}")
    return StoreUnavailable(f"table {table}: {exc}")


class DynamoTodoStore:
    kind = StoreKind.DYNAMODB
    blocking = True  # every call is a network round trip

    def __init__(self, table: str = "todos", *, client: Any) -> None:
        self.table = validate_table_name(table)
        self._client = client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(TableName=self.table, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise
            raise _translate(exc, self.table) from exc

    @staticmethod
    def _key(user_id: str, todo_id: str) -> dict[str, dict[str, str]]:
        return {"userId": {"S": user_id}, "todoId": {"S": todo_id}}

    def get(self, user_id: str, todo_id: str) -> TodoItem | None:
        raw = self._call("get_item", Key=self._key(user_id, todo_id), ConsistentRead=True).get("Item")
        return _item(raw) if raw else None

    def create(self, user_id: str, item: TodoItem) -> tuple[TodoItem, bool]:
        attrs: dict[str, dict[str, Any]] = {
            **self._key(user_id, item.id),
            "title": {"S": item.title},
            "done": {"BOOL": item.done},
            "priority": {"S": item.priority},
            "createdAt": {"N": str(item.created_at)},
            "updatedAt": {"N": str(item.updated_at)},
        }
        if item.due is not None:
            attrs["due"] = {"S": item.due}
        try:
            self._call("put_item", Item=attrs, ConditionExpression="attribute_not_exists(todoId)")
            return item, True
        except ClientError:  # ConditionalCheckFailed: the id exists, an idempotent replay
            existing = self.get(user_id, item.id)
            if existing is None:  # deleted in between: try once more
                return self.create(user_id, item)
            return existing, False

    def update(
        self, user_id: str, todo_id: str, *, title: str | None, done: bool | None, updated_at: int
    ) -> TodoItem | None:
        sets = ["updatedAt = :u"]
        values: dict[str, dict[str, Any]] = {":u": {"N": str(updated_at)}}
        if title is not None:
            sets.append("title = :t")
            values[":t"] = {"S": title}
        if done is not None:
            sets.append("done = :d")
            values[":d"] = {"BOOL": done}
        try:
            raw = self._call(
                "update_item",
                Key=self._key(user_id, todo_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(todoId)",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError:  # ConditionalCheckFailed: no such item
            return None
        return _item(raw)

    def delete(self, user_id: str, todo_id: str) -> bool:
        try:
            self._call(
                "delete_item",
                Key=self._key(user_id, todo_id),
                ConditionExpression="attribute_exists(todoId)",
            )
        except ClientError:
            return False
        return True

    def list(self, user_id: str, *, limit: int, after: str | None, done: bool | None) -> TodoPage:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "ProjectionExpression": _ITEM_ATTRS,
            "ConsistentRead": True,
        }
        if done is not None:
            kwargs["FilterExpression"] = "done = :d"
            kwargs["ExpressionAttributeValues"][":d"] = {"BOOL": done}
        if after:
            kwargs["ExclusiveStartKey"] = self._key(user_id, after)
        raw_items: list[dict[str, Any]] = []
        # A filter applies after Limit, so keep reading until one item more than asked
        # (which proves another page exists) or the partition ends.
        while True:
            kwargs["Limit"] = limit + 1 - len(raw_items)
            resp = self._call("query", **kwargs)
            raw_items.extend(resp.get("Items", []))
            last = resp.get("LastEvaluatedKey")
            if len(raw_items) > limit or not last:
                break
            kwargs["ExclusiveStartKey"] = last
        items = [_item(r) for r in raw_items[:limit]]
        more = len(raw_items) > limit
        return TodoPage(items, items[-1].id if more else None)

    def ping(self) -> None:
        self._call("describe_table")

    def close(self) -> None:
        self._client.close()
