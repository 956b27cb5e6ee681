"""The local fault provider: every fault and runbook step over the bundled service's control API.

Each action is one entry in `ACTIONS` (inject / revert / describe), so adding a
fault is one function pair and one line; nothing branches on the action name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import JsonValue

from chaos.actions import ActionCall
from chaos.local.control_client import ControlClient
from chaos.local.leftovers import BundledLeftovers
from chaos.local.observe import MATCHERS, observe
from chaos.provider import Leftover, ObservedAction, RemediationContext, Undo
from chaos.targets import BundledTarget
from common.errors import HarnessError, ProviderError

Client = ControlClient
Params = dict[str, Any]


@dataclass(frozen=True)
class LocalAction:
    run: Callable[[Client, Params, RemediationContext], Undo]  # inject, or perform a remediation
    revert: Callable[[Client, Params, Undo], None] | None  # faults only
    describe: Callable[[Params], list[str]]


# ---- Lambda -------------------------------------------------------------------------------


def _live_version(c: Client) -> str:
    return str(c.get("/control/function/versions")["aliases"]["LIVE"])


def _deploy_bad(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    previous = _live_version(c)
    bad = c.post("/control/function/versions", {"code": "broken", "description": "hanbit-drill bad deploy"})
    c.put("/control/function/aliases/LIVE", {"version": bad["version"]})
    return {"previous_version": previous, "bad_version": str(bad["version"])}


def _undeploy_bad(c: Client, p: Params, undo: Undo) -> None:
    if not undo:
        return  # never got as far as publishing
    if _live_version(c) == undo.get("bad_version"):  # leave a later, deliberate alias move alone
        c.put("/control/function/aliases/LIVE", {"version": undo["previous_version"]})


def _fault_kind(kind: str, keys: tuple[str, ...]) -> tuple[Callable, Callable, Callable]:
    def inject(c: Client, p: Params, ctx: RemediationContext) -> Undo:
        previous = c.get("/control/state")["function"]["faults"].get(kind)
        c.put(f"/control/function/faults/{kind}", {k: p[k] for k in keys if k in p} | {"percentage": p.get("percentage", 100.0)})
        return {"previous": previous}

    def revert(c: Client, p: Params, undo: Undo) -> None:
        previous = undo.get("previous")
        if previous:
            c.put(f"/control/function/faults/{kind}", previous)
        else:
            c.delete(f"/control/function/faults/{kind}")

    def describe(p: Params) -> list[str]:
        body = {k: p[k] for k in keys if k in p} | {"percentage": p.get("percentage", 100.0)}
        return [f"inject: PUT /control/function/faults/{kind} {body}", f"revert: DELETE /control/function/faults/{kind}"]

    return inject, revert, describe


def _set_concurrency(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    answer = c.put("/control/function/concurrency", {"reserved": p["limit"]})
    return {"previous": answer.get("previous")}


def _restore_concurrency(c: Client, p: Params, undo: Undo) -> None:
    c.put("/control/function/concurrency", {"reserved": undo.get("previous") if undo else None})


def _rollback(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    # The version LIVE had before the first bad deploy of the drill: a later bad deploy's snapshot is the
    # earlier bad version, so each fault's own undo data is looked up, never one per action name.
    fault = ctx.first_fault({"lambda.deploy-bad-version"}, having="previous_version")
    target = p.get("to_version") or (fault.undo["previous_version"] if fault else None)
    if target is None:
        versions = c.get("/control/function/versions")
        live = str(versions["aliases"]["LIVE"])
        older = [str(v["version"]) for v in versions["versions"] if int(v["version"]) < int(live)]
        if not older:
            raise ProviderError(f"cannot roll back: LIVE is at version {live}, there is no previous version")
        target = older[-1]
    answer = c.put(f"/control/function/aliases/{p.get('alias', 'LIVE')}", {"version": str(target)})
    detail: Undo = {"version": str(target), "previous_version": answer.get("previous_version")}
    if fault is not None and not p.get("to_version"):
        detail["fault"] = fault.id  # whose snapshot gave the version (for the journal)
    return detail


def _update_config(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    body = {k: v for k, v in p.items() if v is not None}
    return {"config": c.put("/control/function/config", body).get("config")}


# ---- table --------------------------------------------------------------------------------


def _corrupt(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    answer = c.post("/control/table/corrupt", {"fraction": p["fraction"], "modes": p.get("modes") or ["garble", "drop-attribute", "delete"]})
    return {"corruption": answer["corruption"], "items": answer.get("items"), "by_mode": answer.get("by_mode")}


def _uncorrupt(c: Client, p: Params, undo: Undo) -> None:
    if undo.get("corruption"):
        c.delete(f"/control/table/corrupt/{undo['corruption']}")


def _throttle(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    c.put("/control/table/throttle", {"read_capacity": p.get("read_capacity"), "write_capacity": p.get("write_capacity")})
    return {}


def _unthrottle(c: Client, p: Params, undo: Undo) -> None:
    c.delete("/control/table/throttle")


def _backup(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    return dict(c.post("/control/table/backups", {}))


def _restore(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    tables = {t["name"] for t in c.get("/control/table/tables")["tables"]}
    name = p.get("target_table", "todos-restored")
    if name in tables:  # an earlier drill's restore: keep it, restore beside it
        name = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    body: dict[str, Any] = {"target_table": name}
    if p.get("source", "pitr") == "pitr":
        if ctx.fault_at is None:
            raise ProviderError("point-in-time restore needs the fault time, and no fault was injected")
        body["timestamp"] = ctx.fault_at - float(p.get("before_fault_s", 1.0))
    else:
        backups = c.get("/control/table/backups")["backups"]
        if not backups:
            raise ProviderError("no backup of table todos to restore (add a `table.backup` setup step)")
        body["backup"] = max(backups, key=lambda b: b["created_at"])["name"]
    restored = c.post("/control/table/restore", body)
    detail: Undo = {"table": restored["table"], "items": restored.get("items"), "restored_to": restored.get("restored_to")}
    if p.get("repoint", True):
        previous = c.put("/control/function/config", {"table_name": restored["table"]}).get("previous", {})
        detail["previous_table"] = (previous or {}).get("table_name")
    return detail


# ---- regions, auth ------------------------------------------------------------------------


def _region_down(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    answer = c.put(f"/control/regions/{p.get('region', 'ap-northeast-2')}", {"status": p.get("mode", "refuse")})
    return {"region": answer["region"], "previous": answer.get("previous", "up")}


def _region_back(c: Client, p: Params, undo: Undo) -> None:
    region = undo.get("region") or p.get("region", "ap-northeast-2")
    c.put(f"/control/regions/{region}", {"status": undo.get("previous") or "up"})


def _pause_replication(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    return {"previous_paused": bool(c.get("/control/replication").get("paused"))}


def _resume_replication(c: Client, p: Params, undo: Undo) -> None:
    c.put("/control/replication", {"paused": bool(undo.get("previous_paused", False))})


def _pause_and_record(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    undo = _pause_replication(c, p, ctx)
    c.put("/control/replication", {"paused": True})
    return undo


def _failover(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    return dict(c.put("/control/edge", {"active": p.get("to_region", "ap-northeast-1")}))


FAILBACK_WAIT_S = 60.0


def _failback(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    """Return to automatic routing once the edge's own health checks see the primary healthy again."""
    region = p.get("to_region", "ap-northeast-2")
    deadline = time.monotonic() + FAILBACK_WAIT_S
    while not c.get("/control/edge")["health"].get(region, {}).get("healthy"):
        if time.monotonic() > deadline:
            raise ProviderError(f"cannot fail back: {region} is not healthy after {FAILBACK_WAIT_S:.0f} s")
        time.sleep(0.25)
    return dict(c.put("/control/edge", {"active": None}))


def _expire_tokens(c: Client, p: Params, ctx: RemediationContext) -> Undo:
    c.put("/control/auth/not-before", {"epoch_s": time.time()})
    return {}


def _unexpire_tokens(c: Client, p: Params, undo: Undo) -> None:
    c.delete("/control/auth/not-before")


def _text(*lines: str) -> Callable[[Params], list[str]]:
    return lambda p: [line.format(**{**p, "p": p}) for line in lines]


_latency = _fault_kind("latency", ("latency_ms",))
_exception = _fault_kind("exception", ())
_status = _fault_kind("status", ("status_code",))
_timeout = _fault_kind("timeout", ("duration_ms",))

ACTIONS: dict[str, LocalAction] = {
    "lambda.deploy-bad-version": LocalAction(_deploy_bad, _undeploy_bad, _text(
        "inject: POST /control/function/versions {{code: broken}}; PUT /control/function/aliases/LIVE -> the new version",
        "revert: PUT /control/function/aliases/LIVE -> the version LIVE had before (if LIVE is still the bad one)")),
    "lambda.invocation-error": LocalAction(_exception[0], _exception[1], _exception[2]),
    "lambda.add-latency": LocalAction(_latency[0], _latency[1], _latency[2]),
    "lambda.http-status": LocalAction(_status[0], _status[1], _status[2]),
    "lambda.slow-invocations": LocalAction(_timeout[0], _timeout[1], _timeout[2]),
    "lambda.reserved-concurrency": LocalAction(_set_concurrency, _restore_concurrency, _text(
        "inject: PUT /control/function/concurrency {{reserved: {limit}}}",
        "revert: PUT /control/function/concurrency {{reserved: <previous>}}")),
    "table.corrupt": LocalAction(_corrupt, _uncorrupt, _text(
        "inject: POST /control/table/corrupt {{fraction: {fraction}}} (rows really rewritten in table todos)",
        "revert: DELETE /control/table/corrupt/<id> (puts back the exact pre-corruption rows)")),
    "table.throttle": LocalAction(_throttle, _unthrottle, _text(
        "inject: PUT /control/table/throttle {p}", "revert: DELETE /control/table/throttle")),
    "region.outage": LocalAction(_region_down, _region_back, _text(
        "inject: PUT /control/regions/{region} {{status: {mode}}}", "revert: PUT /control/regions/{region} {{status: up}}")),
    "region.pause-replication": LocalAction(_pause_and_record, _resume_replication, _text(
        "inject: PUT /control/replication {{paused: true}}", "revert: PUT /control/replication {{paused: false}}")),
    "auth.expire-tokens": LocalAction(_expire_tokens, _unexpire_tokens, _text(
        "inject: PUT /control/auth/not-before {{epoch_s: now}} (every issued token -> 401)",
        "revert: DELETE /control/auth/not-before")),
    "lambda.rollback": LocalAction(_rollback, None, _text(
        "remediate: PUT /control/function/aliases/LIVE -> the version before the bad deploy")),
    "lambda.delete-concurrency": LocalAction(
        lambda c, p, ctx: _set_concurrency(c, {"limit": None}, ctx), None,
        _text("remediate: PUT /control/function/concurrency {{reserved: null}}")),
    "lambda.update-config": LocalAction(_update_config, None, _text("remediate: PUT /control/function/config {p}")),
    "table.backup": LocalAction(_backup, None, _text("POST /control/table/backups -> todos-backup-YYYYMMDD-HHMMSS")),
    "table.restore": LocalAction(_restore, None, _text(
        "remediate: POST /control/table/restore {p} (PITR to fault - before_fault_s, or the latest backup)",
        "remediate: PUT /control/function/config {{table_name: <restored table>}} (repoint TABLE_NAME)")),
    "region.failover": LocalAction(_failover, None, _text("remediate: PUT /control/edge {{active: {to_region}}}")),
    "region.failback": LocalAction(_failback, None, _text(
        "remediate: once {to_region} is healthy, PUT /control/edge {{active: null}} (automatic routing)")),
}


class LocalProvider:
    name: ClassVar[str] = "local"
    supported_actions: ClassVar[frozenset[str]] = frozenset(ACTIONS)
    observable_actions: ClassVar[frozenset[str]] = frozenset(MATCHERS)  # game-day steps an operator may take

    def __init__(self, target: BundledTarget, data_dir: str | None = None, api_url: str | None = None) -> None:
        self.target = target
        self.data_dir = data_dir or target.data_dir
        self._client: ControlClient | None = None

    @property
    def client(self) -> ControlClient:
        if self._client is None:
            if not self.data_dir:
                raise ProviderError("the bundled target has no data directory (is the service running?)")
            self._client = ControlClient.from_data_dir(self.data_dir)
        return self._client

    def _action(self, call: ActionCall) -> LocalAction:
        try:
            return ACTIONS[call.name]
        except KeyError:
            raise ProviderError(f"the local provider cannot do {call.name!r}") from None

    def _params(self, call: ActionCall) -> Params:
        return call.typed_params().model_dump()

    def preflight(self, calls: list[ActionCall]) -> list[str]:
        problems = [f"the local provider cannot do {c.name!r}" for c in calls if c.name not in ACTIONS]
        try:
            state = self.client.get("/control/state")
        except HarnessError as exc:
            return [*problems, f"control API unreachable: {exc}"]
        names = {c.name for c in calls}
        regions = state.get("regions", {})
        if names & {"region.outage", "region.failover", "region.failback", "region.pause-replication"}:
            if len(regions) < 2:
                problems.append("region actions need the bundled service with 2 regions (serve --regions 2)")
            else:
                down = [r for r, s in regions.items() if s.get("status") != "up"]
                if down:
                    problems.append(f"regions not up before the drill: {', '.join(down)}")
        if state.get("function", {}).get("faults"):
            problems.append(f"function faults already active: {state['function']['faults']} (`hanbit-drill cleanup --target` on this target undoes them)")
        return problems

    def plan(self, call: ActionCall) -> list[str]:
        return self._action(call).describe(self._params(call))

    def inject(self, call: ActionCall) -> Undo:
        return self._action(call).run(self.client, self._params(call), RemediationContext(fault_at=None))

    def revert(self, call: ActionCall, undo: Undo) -> None:
        revert = self._action(call).revert
        if revert is not None:
            revert(self.client, self._params(call), undo)

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        return self._action(call).run(self.client, self._params(call), context)

    def observe(self, call: ActionCall, since: float, context: RemediationContext) -> ObservedAction | None:
        entries = self.client.get("/control/log", since=since).get("entries", [])
        return observe(call, context, entries)

    def alarm_times(self, since: float) -> dict[str, float | None]:
        return {}  # the bundled service has no alarms of its own: the drill's alarm model pages

    def leftovers(self) -> list[Leftover]:
        return BundledLeftovers(self.client).find()

    def clear(self, leftover: Leftover) -> str:
        return BundledLeftovers(self.client).clear(leftover)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
