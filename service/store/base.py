"""The `TodoStore` protocol and the domain types every store shares.

Only todos go through this protocol; users and tokens live in the local Cognito
stand-in (`service.identity`). Items are keyed by (user id, todo id) exactly as a
DynamoDB table with partition key userId and sort key todoId would be, so the
two stores answer the same queries the same way (lists are ordered by todo id).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol, runtime_checkable


class StoreKind(StrEnum):
    SQLITE = "sqlite"
    DYNAMODB = "dynamodb"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class StoreError(Exception):
    """The store failed in a way the caller cannot fix by changing its request."""


class StoreThrottled(StoreError):
    """The table refused the call for capacity (DynamoDB ProvisionedThroughputExceededException)."""


class StoreUnavailable(StoreError):
    """The table cannot be reached or does not exist."""


# DynamoDB's own rule for table names; SQLite tables follow it too so a name is valid for both.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def validate_table_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise ValueError(f"invalid table name {name!r}: 3-255 characters of A-Z a-z 0-9 _ . -")
    return name


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two digits per 10 bits: a ULID (130 bits, the first two always zero) is 13 lookups.
_DIGIT_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_PAIR_SHIFTS = range(120, -1, -10)


_last_id = [0]  # the previous id of this process, as a number
_id_lock = threading.Lock()


def new_todo_id() -> str:
    """A monotonic ULID: 48-bit ms time + 80 random bits, so server-made ids list in creation order
    (within one millisecond, the previous id plus one)."""
    value = (now_ms() << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if value <= _last_id[0]:
            value = _last_id[0] + 1
        _last_id[0] = value
    return "".join([_DIGIT_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


# Formatted timestamps by epoch ms: an item's times never change, and the same items are
# answered again and again (lists, reads after writes), so formatting is mostly a dict hit.
_ISO: dict[int, str] = {}
_ISO_MAX = 200_000


def iso_ms(epoch_ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and `Z`."""
    if epoch_ms is None:
        return None
    text = _ISO.get(epoch_ms)
    if text is None:
        if len(_ISO) >= _ISO_MAX:
            _ISO.clear()
        seconds, millis = divmod(epoch_ms, 1000)
        text = _ISO[epoch_ms] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
    return text


class TodoItem(NamedTuple):
    """One item. Immutable; a NamedTuple because a list page builds many (4x cheaper than a
    frozen dataclass). Tables have no schema beyond the key (as in DynamoDB): a damaged item
    (e.g. after a bad migration drill) may lack attributes, and is returned as it is."""

    id: str
    title: str | None
    done: bool
    due: str | None
    priority: str | None
    created_at: int | None  # epoch ms
    updated_at: int | None  # epoch ms

    def to_api(self) -> dict[str, object]:
        """The JSON shape of the HTTP contract (times as ISO 8601)."""
        return {
            "id": self.id,
            "title": self.title,
            "done": self.done,
            "due": self.due,
            "priority": self.priority,
            "created_at": iso_ms(self.created_at),
            "updated_at": iso_ms(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class TodoPage:
    items: list[TodoItem]
    last_key: str | None  # todo id to continue after; None when there is nothing more


@runtime_checkable
class TodoStore(Protocol):
    kind: StoreKind
    table: str
    # True when calls wait on the network: the runtime then invokes the function off the event loop.
    blocking: bool

    def get(self, user_id: str, todo_id: str) -> TodoItem | None: ...

    def create(self, user_id: str, item: TodoItem) -> tuple[TodoItem, bool]:
        """Insert unless (user_id, item.id) exists. Returns the stored item and whether it was created."""
        ...

    def update(
        self, user_id: str, todo_id: str, *, title: str | None, done: bool | None, updated_at: int
    ) -> TodoItem | None:
        """Change the given fields. None when the item does not exist."""
        ...

    def delete(self, user_id: str, todo_id: str) -> bool: ...

    def list(self, user_id: str, *, limit: int, after: str | None, done: bool | None) -> TodoPage:
        """The caller's items ordered by id, starting after `after`."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the table answers."""
        ...

    def close(self) -> None: ...
