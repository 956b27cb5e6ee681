"""Control API routes of the deployment: state, change log, regions, replication, edge, auth."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.control.api import Answer, Request, route
from service.control.context import ControlContext
from service.control.errors import BadRequest, Conflict, NotFound
from service.control.state import ControlState, RegionStatus
from service.control.table_routes import table_summary


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionBody(_Body):
    status: Literal["up", "refuse", "blackhole"]


class ReplicationBody(_Body):
    paused: bool


class EdgeBody(_Body):
    active: str | None = None
    interval_s: float | None = Field(None, gt=0, le=300)
    failure_threshold: int | None = Field(None, ge=1, le=10)


class NotBeforeBody(_Body):
    epoch_s: float = Field(..., gt=0)


def _regions(ctx: ControlContext, state: ControlState) -> dict[str, object]:
    return {name: {"status": r.status.value, "role": r.role, "url": ctx.urls.get(name), "port": r.port,
                   "live_version": r.function.aliases.get("LIVE")}
            for name, r in state.regions.items()}


def _replication(ctx: ControlContext, state: ControlState) -> dict[str, object]:
    metrics = ctx.replication.metrics() if ctx.replication is not None else {}
    return {"paused": state.replication.paused, "enabled": ctx.replication is not None, **metrics}


def _edge(ctx: ControlContext, state: ControlState) -> dict[str, object]:
    health = ctx.edge.health() if ctx.edge is not None else {
        name: {"healthy": ok, "consecutive_failures": 0} for name, ok in state.edge.healthy.items()}
    return {"enabled": ctx.edge is not None, "active": state.edge.active, "serving": state.edge.serving,
            "interval_s": state.edge.interval_s, "failure_threshold": state.edge.failure_threshold,
            "health": health}


async def full_state(ctx: ControlContext, req: Request) -> Answer:
    state = ctx.state()
    region = state.region(req.region)
    if region is None:
        raise NotFound(f"no region {req.region!r}: one of {sorted(state.regions)}")
    function = region.function
    return 200, {
        "generation": state.generation,
        "updated_at": state.updated_at,
        "url": ctx.public_url,
        "primary": state.primary,
        "region": region.name,
        "function": {
            "name": function.name,
            "aliases": dict(function.aliases),
            "live": function.live().model_dump(),
            "versions": [v.model_dump() for v in function.versions],
            "latest": function.latest.model_dump(),
            "reserved": function.reserved,
            "faults": function.faults.active(),
        },
        "table": await asyncio.to_thread(table_summary, ctx, region.name, state),
        "regions": _regions(ctx, state),
        "edge": _edge(ctx, state),
        "replication": _replication(ctx, state),
        "auth": state.auth.model_dump(),
    }


async def change_log(ctx: ControlContext, req: Request) -> Answer:
    try:
        since = float(req.query["since"]) if "since" in req.query else None
        limit = int(req.query["limit"]) if "limit" in req.query else None
    except ValueError:
        raise BadRequest("since: epoch seconds; limit: an integer") from None
    entries = await asyncio.to_thread(ctx.log.entries, since, limit)
    return 200, {"entries": [e.model_dump() for e in entries]}


async def list_regions(ctx: ControlContext, req: Request) -> Answer:
    return 200, {"regions": _regions(ctx, ctx.state())}


async def set_region(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(RegionBody)
    name = req.params["region"]
    status = RegionStatus(body.status)
    async with ctx.lock:  # one outage change at a time: processes and state stay in step
        ctx.files(name)  # 404 for an unknown region
        previous = ctx.region_state(name).status
        if status is not previous and ctx.region_controller is None:
            raise Conflict("this service runs no region processes it could stop")

        def mark(state: ControlState) -> dict[str, object]:
            state.regions[name].status = status
            return {"region": name, "status": status.value, "previous": previous.value}

        if status is RegionStatus.UP:
            # Bring the processes back first: the region is only "up" once it answers.
            if status is not previous:
                await asyncio.to_thread(ctx.region_controller.set_status, name, status)
            return 200, await ctx.mutate("region.up", name, mark)
        # Down: mark it first, so the replicator and the control plane stop touching it at once.
        answer = await ctx.mutate(f"region.{status.value}", name, mark)
        if status is not previous:
            await asyncio.to_thread(ctx.region_controller.set_status, name, status)
        return 200, answer


async def get_replication(ctx: ControlContext, req: Request) -> Answer:
    return 200, _replication(ctx, ctx.state())


async def set_replication(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(ReplicationBody)

    def change(state: ControlState) -> dict[str, object]:
        previous = state.replication.paused
        state.replication.paused = body.paused
        return {"paused": body.paused, "previous": previous}

    action = "replication.pause" if body.paused else "replication.resume"
    return 200, await ctx.mutate(action, None, change)


async def get_edge(ctx: ControlContext, req: Request) -> Answer:
    return 200, _edge(ctx, ctx.state())


async def set_edge(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(EdgeBody)
    given = body.model_fields_set

    def change(state: ControlState) -> dict[str, object]:
        edge = state.edge
        previous = {"active": edge.active, "serving": edge.serving, "interval_s": edge.interval_s,
                    "failure_threshold": edge.failure_threshold}
        if "active" in given:
            if body.active is not None and body.active not in state.regions:
                raise NotFound(f"no region {body.active!r}: one of {sorted(state.regions)}")
            edge.active = body.active
            # A manual switch routes at once; back to automatic, the health verdicts decide at once.
            edge.serving = body.active if body.active is not None else state.failover_target()
        if body.interval_s is not None:
            edge.interval_s = body.interval_s
        if body.failure_threshold is not None:
            edge.failure_threshold = body.failure_threshold
        return {"active": edge.active, "serving": edge.serving, "interval_s": edge.interval_s,
                "failure_threshold": edge.failure_threshold, "previous": previous}

    action = "edge.switch" if body.active is not None else "edge.automatic" if "active" in given else "edge.configure"
    return 200, await ctx.mutate(action, None, change)


async def set_not_before(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(NotBeforeBody)

    def change(state: ControlState) -> dict[str, object]:
        previous = state.auth.not_before
        state.auth.not_before = body.epoch_s
        return {"not_before": body.epoch_s, "previous": previous}

    return 200, await ctx.mutate("auth.not-before", None, change)


async def delete_not_before(ctx: ControlContext, req: Request) -> Answer:
    def change(state: ControlState) -> dict[str, object]:
        previous = state.auth.not_before
        state.auth.not_before = None
        return {"not_before": None, "previous": previous}

    return 200, await ctx.mutate("auth.clear-not-before", None, change)


ROUTES = [
    route("GET", "/control/state", full_state),
    route("GET", "/control/log", change_log),
    route("GET", "/control/regions", list_regions),
    route("PUT", "/control/regions/{region}", set_region),
    route("GET", "/control/replication", get_replication),
    route("PUT", "/control/replication", set_replication),
    route("GET", "/control/edge", get_edge),
    route("PUT", "/control/edge", set_edge),
    route("PUT", "/control/auth/not-before", set_not_before),
    route("DELETE", "/control/auth/not-before", delete_not_before),
]
