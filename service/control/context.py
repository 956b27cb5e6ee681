"""What the control API's routes act on: the state store, the change log, and each region's files
and processes. The supervisor builds one `ControlContext`; tests can build one over plain files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import JsonValue

from service.control.changelog import ChangeLog
from service.control.errors import NotFound, RegionUnavailable
from service.control.state import ControlState, RegionState, RegionStatus
from service.control.store import StateStore
from service.table.backups import BackupStore
from service.table.catalog import TableCatalog
from service.table.corruption import TableCorruptor
from service.table.pitr import PointInTimeRestore

T = TypeVar("T")


@dataclass(frozen=True)
class RegionFiles:
    """Where one region keeps its data (the `data_dir` of its service instance)."""

    name: str
    data_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "todos.db"  # = ServiceSettings.todos_db

    @property
    def backups(self) -> BackupStore:
        return BackupStore(self.db_path, self.data_dir / "backups")

    @property
    def catalog(self) -> TableCatalog:
        return TableCatalog(self.db_path)

    @property
    def corruptor(self) -> TableCorruptor:
        return TableCorruptor(self.db_path, self.data_dir / "corruptions")

    @property
    def pitr(self) -> PointInTimeRestore:
        return PointInTimeRestore(self.db_path)


class RegionController(Protocol):
    def set_status(self, region: str, status: RegionStatus) -> None:
        """Make the region's processes match `status` (blocking until they do)."""


class ReplicationMonitor(Protocol):
    def metrics(self) -> dict[str, JsonValue]:
        """`lag_ms` and `pending` per direction, and what the replicator has done."""


class EdgeMonitor(Protocol):
    def health(self) -> dict[str, dict[str, JsonValue]]:
        """Per region: `healthy`, `consecutive_failures`, `last_checked_at`."""


@dataclass
class ControlContext:
    store: StateStore
    log: ChangeLog
    regions: dict[str, RegionFiles]
    region_controller: RegionController | None = None
    replication: ReplicationMonitor | None = None
    edge: EdgeMonitor | None = None
    urls: dict[str, str] = field(default_factory=dict)  # region -> its own URL
    public_url: str | None = None
    # One state change at a time: a route reads, decides and writes without interleaving.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def files(self, region: str) -> RegionFiles:
        try:
            return self.regions[region]
        except KeyError:
            raise NotFound(f"no region {region!r}: one of {sorted(self.regions)}") from None

    def state(self) -> ControlState:
        return self.store.read()

    def region_state(self, name: str | None) -> RegionState:
        state = self.state()
        region = state.region(name)
        if region is None:
            raise NotFound(f"no region {name!r}: one of {sorted(state.regions)}")
        return region

    def require_up(self, region: str) -> None:
        status = self.region_state(region).status
        if status is not RegionStatus.UP:
            raise RegionUnavailable(f"region {region} is down ({status.value}): its table cannot be reached")

    async def mutate(self, action: str, region: str | None, change: Callable[[ControlState], T],
                     detail: Callable[[T], dict[str, JsonValue]] | None = None) -> T:
        """Apply `change` as the next generation and log it; nothing is written if it raises."""
        result = await asyncio.to_thread(self.store.update, change)
        entry_detail = detail(result) if detail else (result if isinstance(result, dict) else {})
        await asyncio.to_thread(self.log.append, action, entry_detail, region=region)
        return result

    def record(self, action: str, region: str | None, detail: dict[str, JsonValue]) -> None:
        """Log an action that changed data rather than state (backups, restores, corruption)."""
        self.log.append(action, detail, region=region)
