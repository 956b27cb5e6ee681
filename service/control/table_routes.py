"""Control API routes of the table: backups, restores, tables, corruption, throttling.

Data operations read and write the region's database, so they need the region up;
the table a request names defaults to the one alias LIVE uses (`todos` until repointed).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.control.api import Answer, Request, route
from service.control.context import ControlContext
from service.control.errors import Conflict, NotFound
from service.control.function_control import check_no_conflict
from service.control.state import ControlState, TableThrottle
from service.store.base import validate_table_name


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackupBody(_Body):
    table: str | None = None


class RestoreBody(_Body):
    target_table: str
    backup: str | None = None
    timestamp: float | None = Field(None, gt=0, description="epoch seconds (point-in-time restore)")
    source_table: str | None = Field(None, description="PITR source; default: the table LIVE uses")

    @model_validator(mode="after")
    def _one_source(self) -> RestoreBody:
        if (self.backup is None) == (self.timestamp is None):
            raise ValueError("give exactly one of backup and timestamp")
        validate_table_name(self.target_table)
        return self


class CorruptBody(_Body):
    fraction: float = Field(..., gt=0, le=1)
    modes: list[str] = Field(default_factory=lambda: ["garble", "drop-attribute", "delete"], min_length=1)
    id_prefix: str | None = Field(None, min_length=1, max_length=64)
    table: str | None = None


class ThrottleBody(_Body):
    read_capacity: int | None = Field(None, ge=0)
    write_capacity: int | None = Field(None, ge=0)
    table: str | None = None


def _live_table(ctx: ControlContext, region: str) -> str:
    return ctx.region_state(region).function.live().config.table_name


def _up_region(ctx: ControlContext, req: Request) -> str:
    region = ctx.region_state(req.region).name
    ctx.require_up(region)
    return region


async def create_backup(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(BackupBody)
    region = _up_region(ctx, req)
    table = body.table or _live_table(ctx, region)
    info = await asyncio.to_thread(ctx.files(region).backups.create, table)
    ctx.record("table.create-backup", region, info.as_dict())
    return 201, info.as_dict()


async def list_backups(ctx: ControlContext, req: Request) -> Answer:
    region = _up_region(ctx, req)
    found = await asyncio.to_thread(ctx.files(region).backups.list)
    return 200, {"backups": [b.as_dict() for b in found]}


async def restore(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(RestoreBody)
    region = _up_region(ctx, req)
    files = ctx.files(region)
    async with ctx.lock:  # two restores into one name: the second gets 409, not a half table
        if body.backup is not None:
            info = await asyncio.to_thread(files.backups.info, body.backup)
            items = await asyncio.to_thread(files.backups.restore, body.backup, body.target_table)
            answer = {"table": body.target_table, "items": items, "restored_to": info.created_at,
                      "source": {"backup": info.name, "table": info.table}}
        else:
            source = body.source_table or _live_table(ctx, region)
            assert body.timestamp is not None
            items = await asyncio.to_thread(files.pitr.restore, source, body.target_table, body.timestamp)
            answer = {"table": body.target_table, "items": items, "restored_to": body.timestamp,
                      "source": {"table": source, "point_in_time": True}}
    ctx.record("table.restore", region, answer)
    return 201, answer


async def list_tables(ctx: ControlContext, req: Request) -> Answer:
    region = _up_region(ctx, req)
    live = _live_table(ctx, region)
    found = await asyncio.to_thread(ctx.files(region).catalog.tables)
    return 200, {"tables": [{"name": t.name, "items": t.items, "live": t.name == live} for t in found],
                 "live": live}


async def drop_table(ctx: ControlContext, req: Request) -> Answer:
    region = _up_region(ctx, req)
    name = req.params["name"]
    check_no_conflict(ctx.region_state(region).function, name)
    await asyncio.to_thread(ctx.files(region).catalog.drop, name)
    ctx.record("table.delete-table", region, {"table": name})
    return 200, {"dropped": name}


async def corrupt(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(CorruptBody)
    region = _up_region(ctx, req)
    table = body.table or _live_table(ctx, region)
    record = await asyncio.to_thread(ctx.files(region).corruptor.corrupt, table, body.fraction, body.modes,
                                     body.id_prefix)
    summary = record.summary()
    ctx.record("table.corrupt", region, summary)
    return 201, summary


async def uncorrupt(ctx: ControlContext, req: Request) -> Answer:
    region = _up_region(ctx, req)
    restored = await asyncio.to_thread(ctx.files(region).corruptor.revert, req.params["id"])
    ctx.record("table.revert-corruption", region, {"corruption": req.params["id"], "restored": restored})
    return 200, {"corruption": req.params["id"], "restored": restored}


async def list_corruptions(ctx: ControlContext, req: Request) -> Answer:
    region = _up_region(ctx, req)
    found = await asyncio.to_thread(ctx.files(region).corruptor.list)
    return 200, {"corruptions": [r.summary() for r in found]}


async def put_throttle(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(ThrottleBody)
    region = ctx.region_state(req.region).name
    table = body.table or _live_table(ctx, region)
    limits = TableThrottle(read_capacity=body.read_capacity, write_capacity=body.write_capacity)

    def change(state: ControlState) -> dict[str, object]:
        throttles = state.regions[region].table.throttles
        previous = throttles.get(table)
        throttles[table] = limits
        return {"table": table, "throttle": limits.model_dump(),
                "previous": previous.model_dump() if previous else None}

    return 200, await ctx.mutate("table.throttle", region, change)


async def delete_throttle(ctx: ControlContext, req: Request) -> Answer:
    region = ctx.region_state(req.region).name
    table = req.query.get("table")

    def change(state: ControlState) -> dict[str, object]:
        throttles = state.regions[region].table.throttles
        if table is None:  # the drill's revert: lift every limit, whichever table it was put on
            removed = dict(throttles)
            throttles.clear()
        else:
            if table not in throttles:
                raise NotFound(f"table {table!r} is not throttled")
            removed = {table: throttles.pop(table)}
        return {"removed": {t: v.model_dump() for t, v in removed.items()}}

    return 200, await ctx.mutate("table.unthrottle", region, change)


def table_summary(ctx: ControlContext, region: str, state: ControlState) -> dict[str, object]:
    """The table part of /control/state (blocking: reads the region's database)."""
    files = ctx.files(region)
    region_state = state.regions[region]
    summary: dict[str, object] = {
        "name": region_state.function.live().config.table_name,
        "throttle": {t: v.model_dump() for t, v in region_state.table.throttles.items()},
    }
    if region_state.status.value != "up":
        return {**summary, "available": False}
    try:
        summary["tables"] = [{"name": t.name, "items": t.items} for t in files.catalog.tables()]
        summary["backups"] = [b.as_dict() for b in files.backups.list()]
        summary["corruptions"] = [r.summary() for r in files.corruptor.list()]
    except (Conflict, NotFound) as exc:
        summary["error"] = exc.message
    return {**summary, "available": True}


ROUTES = [
    route("POST", "/control/table/backups", create_backup),
    route("GET", "/control/table/backups", list_backups),
    route("POST", "/control/table/restore", restore),
    route("GET", "/control/table/tables", list_tables),
    route("DELETE", "/control/table/tables/{name}", drop_table),
    route("POST", "/control/table/corrupt", corrupt),
    route("GET", "/control/table/corrupt", list_corruptions),
    route("DELETE", "/control/table/corrupt/{id}", uncorrupt),
    route("PUT", "/control/table/throttle", put_throttle),
    route("DELETE", "/control/table/throttle", delete_throttle),
]
