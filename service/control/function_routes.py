"""Control API routes of the function `todo-api`: versions, alias LIVE, concurrency, config, faults."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.control.api import Answer, Request, route
from service.control.context import ControlContext
from service.control.errors import NotFound
from service.control.function_control import FunctionControl
from service.control.state import ControlState


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublishBody(_Body):
    code: str = "current"
    description: str = Field("", max_length=256)


class AliasBody(_Body):
    version: str

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ConcurrencyBody(_Body):
    reserved: int | None = Field(..., ge=0)


def _function(state: ControlState, region: str | None) -> FunctionControl:
    found = state.region(region)
    if found is None:
        raise NotFound(f"no region {region!r}: one of {sorted(state.regions)}")
    return FunctionControl(found.function)


def _region_name(ctx: ControlContext, req: Request) -> str:
    return ctx.region_state(req.region).name


async def publish(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(PublishBody)
    region = _region_name(ctx, req)
    answer = await ctx.mutate("function.publish-version", region,
                              lambda s: _function(s, region).publish(body.code, body.description))
    return 201, answer


async def versions(ctx: ControlContext, req: Request) -> Answer:
    return 200, _function(ctx.state(), req.region).listing()


async def update_alias(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(AliasBody)
    region = _region_name(ctx, req)
    alias = req.params["alias"]
    return 200, await ctx.mutate("function.update-alias", region,
                                 lambda s: _function(s, region).update_alias(alias, body.version))


async def concurrency(ctx: ControlContext, req: Request) -> Answer:
    body = req.model(ConcurrencyBody)
    region = _region_name(ctx, req)
    action = "function.delete-concurrency" if body.reserved is None else "function.put-concurrency"
    return 200, await ctx.mutate(action, region, lambda s: _function(s, region).set_concurrency(body.reserved))


async def update_config(ctx: ControlContext, req: Request) -> Answer:
    changes = req.json()
    region = _region_name(ctx, req)
    tables: set[str] = set()
    if "table_name" in changes:
        ctx.require_up(region)
        tables = set(await asyncio.to_thread(ctx.files(region).catalog.names))
    return 200, await ctx.mutate("function.update-configuration", region,
                                 lambda s: _function(s, region).update_config(changes, tables))


async def put_fault(ctx: ControlContext, req: Request) -> Answer:
    body = req.json()
    region = _region_name(ctx, req)
    kind = req.params["kind"]
    answer = await ctx.mutate(f"function.inject-{kind}", region, lambda s: _function(s, region).put_fault(kind, body),
                              lambda a: {"kind": kind, **body, "faults": a["faults"]})
    return 200, answer


async def delete_fault(ctx: ControlContext, req: Request) -> Answer:
    region = _region_name(ctx, req)
    kind = req.params["kind"]
    answer = await ctx.mutate(f"function.remove-{kind}", region, lambda s: _function(s, region).delete_fault(kind),
                              lambda a: {"kind": kind, "faults": a["faults"]})
    return 200, answer


ROUTES = [
    route("POST", "/control/function/versions", publish),
    route("GET", "/control/function/versions", versions),
    route("PUT", "/control/function/aliases/{alias}", update_alias),
    route("PUT", "/control/function/concurrency", concurrency),
    route("PUT", "/control/function/config", update_config),
    route("PUT", "/control/function/faults/{kind}", put_fault),
    route("DELETE", "/control/function/faults/{kind}", delete_fault),
]
