"""`table.corrupt`: a bad migration alters a share of the drill's own items in the table.

The drill's own items are the ones its load created: every client todo id of a run begins with the
run's prefix (`<run id>-`, see loadtests/journeys.py), which the engine passes as `params.id_prefix`.
Only items whose id attribute (`target.item_id_attribute`, the table's sort key) begins with it are
read or written, and every write is conditional on it, so a real user's item can never be touched.
Before the first write, inject checks that enough such items exist (the load made them during the
baseline); too few is a preflight error and nothing is changed. The undo data holds each altered item
as it was; revert puts back only what is still in the state the fault left (an item the load rewrote
since is not ours any more), then re-reads to find leftovers.
"""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, CorruptTable
from chaos.aws.checks import guarded
from chaos.aws.context import ActionHandler, NamedCall, api, clean_up_failed_inject, marker_call
from chaos.aws.errors import AwsApiError
from chaos.provider import Undo
from common.errors import PreflightError, ProviderError

GARBLE_PREFIX = "\ufffdgarbled:"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def encode(value: Any) -> JsonValue:
    """DynamoDB AttributeValues as JSON (binary as base64) so they fit in the journal."""
    if isinstance(value, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def garble(text: str) -> str:
    return GARBLE_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


class TableCorruption(ActionHandler):
    actions = frozenset({"table.corrupt"})

    def __init__(self, ctx: Any, rng: random.Random | None = None) -> None:
        super().__init__(ctx)
        self.rng = rng or random.Random()

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name, self.target.table)

    def _params(self, call: ActionCall) -> CorruptTable:
        params = call.typed_params()
        assert isinstance(params, CorruptTable)
        return params

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        return [*super().named_calls(call), marker_call(self.marker(call))]

    def preflight(self, call: ActionCall) -> list[str]:
        attr = self.target.item_id_attribute

        def check() -> list[str]:
            found = self.ctx.clients.call(
                "dynamodb", "describe_table", TableName=self.target.table, ignore=("ResourceNotFoundException",)
            )
            if found is None:
                return [f"DynamoDB table {self.target.table} does not exist in {self.target.region}"]
            keys = [k["AttributeName"] for k in found["Table"]["KeySchema"]]
            if attr not in keys:
                return [
                    f"table.corrupt: item_id_attribute {attr!r} is not a key of table {self.target.table} "
                    f"(keys: {', '.join(keys)}); set it to the attribute holding the client-chosen todo id"
                ]
            return []

        # Whether enough of the drill's own items exist is only known after the baseline: inject checks it.
        return guarded(check, f"checking table {self.target.table}")

    def plan(self, call: ActionCall) -> list[str]:
        params, table = self._params(call), self.target.table
        prefix = params.id_prefix or "<the drill load's id prefix>"
        cond = f"begins_with({self.target.item_id_attribute}, {prefix})"
        return [
            "inject: " + api("dynamodb", "DescribeTable", TableName=table) + "  (key schema)",
            "inject: " + api("dynamodb", "Scan", TableName=table, FilterExpression=cond, ConsistentRead=True),
            f"inject: (refuse, changing nothing, unless at least {self.ctx.settings.corruption_min_items} such items "
            f"exist after the baseline)",
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot summary>"),
            f"inject: (a {params.fraction:.0%} share of the drill's items, modes {', '.join(params.modes)} in turn)",
            "inject: "
            + api(
                "dynamodb",
                "UpdateItem",
                TableName=table,
                UpdateExpression="SET <string attrs> = <garbled>",
                ConditionExpression=cond,
            )
            + "  (garble)",
            "inject: "
            + api("dynamodb", "UpdateItem", TableName=table, UpdateExpression="REMOVE <attr>", ConditionExpression=cond)
            + "  (drop-attribute)",
            "inject: " + api("dynamodb", "DeleteItem", TableName=table, ConditionExpression=cond) + "  (delete)",
            "revert: "
            + api(
                "dynamodb",
                "UpdateItem",
                TableName=table,
                UpdateExpression="SET <attr> = <original>",
                ConditionExpression="<attr still garbled / still missing>",
            ),
            "revert: "
            + api(
                "dynamodb",
                "PutItem",
                TableName=table,
                Item="<original>",
                ConditionExpression="attribute_not_exists(<key>)",
            )
            + "  (deleted items)",
            "revert: " + api("dynamodb", "GetItem", TableName=table, ConsistentRead=True) + "  (leftover check)",
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    # ---- inject ------------------------------------------------------------------------------

    def inject(self, call: ActionCall) -> Undo:
        params, table = self._params(call), self.target.table
        if not params.id_prefix:
            raise PreflightError(
                [
                    f"table.corrupt on AWS alters only the drill's own items and needs the id prefix of its load "
                    f"(params.id_prefix; the engine passes it once the load runs): nothing of {table} was touched"
                ]
            )
        keys = [
            k["AttributeName"]
            for k in self.ctx.call("dynamodb", "describe_table", TableName=table)["Table"]["KeySchema"]
        ]
        items = self._own_items(params.id_prefix)
        least = self.ctx.settings.corruption_min_items
        if len(items) < least:
            raise PreflightError(
                [
                    f"table.corrupt: only {len(items)} item(s) of table {table} have a {self.target.item_id_attribute} "
                    f"beginning with {params.id_prefix!r} (the drill's load), at least {least} are needed for a "
                    f"meaningful corruption; nothing was touched (a longer baseline or more creates in the load "
                    f"make more)"
                ]
            )
        chosen = self.rng.sample(items, max(1, round(params.fraction * len(items))))
        plans = [self._corruption(item, keys, params.modes[i % len(params.modes)]) for i, item in enumerate(chosen)]
        undo: dict[str, Any] = {
            "table": table,
            "region": self.target.region,
            "keys": keys,
            "id_prefix": params.id_prefix,
            "candidates": len(items),
            "items": [],
        }
        marker = self.marker(call)
        self.ctx.markers.put(marker, undo | {"items": plans}, summary={"table": table, "count": len(plans)})
        for plan in plans:
            try:
                self._apply(plan, keys, params.id_prefix)
            except AwsApiError as exc:
                if exc.code != _CONDITION_FAILED:
                    # Put back what was already altered. The marker lists every planned item; restoring
                    # one never altered is a no-op (each write is conditional on the corrupted state).
                    clean_up_failed_inject(self.ctx, exc, marker, lambda: self._restore(undo))
                    raise
                continue  # the load deleted it meanwhile: not corrupted, nothing to undo
            undo["items"].append(plan)
        self.ctx.markers.put(marker, undo, summary={"table": table, "count": len(undo["items"])})
        return undo

    def _own_items(self, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.ctx.clients.paginate(
            "dynamodb",
            "scan",
            TableName=self.target.table,
            ConsistentRead=True,
            FilterExpression="begins_with(#id, :prefix)",
            ExpressionAttributeNames={"#id": self.target.item_id_attribute},
            ExpressionAttributeValues={":prefix": {"S": prefix}},
        ):
            items += page.get("Items", [])
        return items

    def _corruption(self, item: dict[str, Any], keys: list[str], mode: str) -> dict[str, Any]:
        protected = set(keys) | {self.target.item_id_attribute}
        strings = sorted(k for k, v in item.items() if k not in protected and "S" in v)
        others = sorted(k for k in item if k not in protected)
        if mode == "garble" and not strings:
            mode = "drop-attribute" if others else "delete"
        if mode == "drop-attribute" and not others:
            mode = "delete"
        plan: dict[str, Any] = {"mode": mode, "original": encode(item)}
        if mode == "garble":
            plan["garbled"] = {k: garble(item[k]["S"]) for k in strings}
        elif mode == "drop-attribute":
            plan["dropped"] = "title" if "title" in others else others[0]
        return plan

    def _apply(self, plan: dict[str, Any], keys: list[str], prefix: str) -> None:
        item = decode(plan["original"])
        # The item must still exist and be the drill's: an update never creates an item, never touches another.
        common = {
            "TableName": self.target.table,
            "Key": {k: item[k] for k in keys},
            "ConditionExpression": "begins_with(#id, :prefix)",
        }
        names = {"#id": self.target.item_id_attribute}
        values = {":prefix": {"S": prefix}}
        if plan["mode"] == "garble":
            sets = {f"#a{i}": (k, v) for i, (k, v) in enumerate(plan["garbled"].items())}
            self.ctx.call(
                "dynamodb",
                "update_item",
                **common,
                UpdateExpression="SET " + ", ".join(f"{n} = :{n[1:]}" for n in sets),
                ExpressionAttributeNames=names | {n: kv[0] for n, kv in sets.items()},
                ExpressionAttributeValues=values | {f":{n[1:]}": {"S": kv[1]} for n, kv in sets.items()},
            )
        elif plan["mode"] == "drop-attribute":
            self.ctx.call(
                "dynamodb",
                "update_item",
                **common,
                UpdateExpression="REMOVE #d",
                ExpressionAttributeNames=names | {"#d": plan["dropped"]},
                ExpressionAttributeValues=values,
            )
        else:
            self.ctx.call(
                "dynamodb", "delete_item", **common, ExpressionAttributeNames=names, ExpressionAttributeValues=values
            )

    # ---- revert ------------------------------------------------------------------------------

    def revert(self, call: ActionCall, undo: Undo) -> None:
        marker = self.marker(call)
        undo = undo or self.ctx.markers.get(marker) or {}
        if not undo:
            return
        if undo.get("truncated"):
            raise ProviderError(
                f"{undo.get('count')} corrupted items of {undo.get('table')} cannot be put back without the "
                f"journal's undo data (the SSM marker {marker} only holds a summary); restore the table instead"
            )
        self._restore(dict(undo))
        leftovers = self._leftovers(dict(undo))
        if leftovers:
            raise ProviderError(
                f"revert left {len(leftovers)} items of {undo['table']} corrupted: " + ", ".join(leftovers[:10])
            )
        self.ctx.markers.delete(marker)

    def _restore(self, undo: dict[str, Any]) -> None:
        for plan in undo["items"]:
            item, keys = decode(plan["original"]), undo["keys"]
            key = {k: item[k] for k in keys}
            if plan["mode"] == "garble":
                # One conditional write per attribute: a user's later edit of one field keeps that field.
                for name, garbled in plan["garbled"].items():
                    self._conditional(
                        "update_item",
                        TableName=undo["table"],
                        Key=key,
                        UpdateExpression="SET #a = :o",
                        ConditionExpression="#a = :g",
                        ExpressionAttributeNames={"#a": name},
                        ExpressionAttributeValues={":o": item[name], ":g": {"S": garbled}},
                    )
            elif plan["mode"] == "drop-attribute":
                self._conditional(
                    "update_item",
                    TableName=undo["table"],
                    Key=key,
                    UpdateExpression="SET #d = :o",
                    ConditionExpression="attribute_exists(#k) AND attribute_not_exists(#d)",
                    ExpressionAttributeNames={"#d": plan["dropped"], "#k": keys[0]},
                    ExpressionAttributeValues={":o": item[plan["dropped"]]},
                )
            else:
                self._conditional(
                    "put_item",
                    TableName=undo["table"],
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": keys[0]},
                )

    def _conditional(self, method: str, **params: Any) -> None:
        try:
            self.ctx.call("dynamodb", method, **params)
        except AwsApiError as exc:
            if exc.code != _CONDITION_FAILED:
                raise
            # Already put back, or changed by someone since: either way not ours to overwrite.

    def _leftovers(self, undo: dict[str, Any]) -> list[str]:
        left = []
        for plan in undo["items"]:
            item, keys = decode(plan["original"]), undo["keys"]
            key = {k: item[k] for k in keys}
            now = self.ctx.call("dynamodb", "get_item", TableName=undo["table"], Key=key, ConsistentRead=True).get(
                "Item"
            )
            label = "/".join(str(next(iter(v.values()))) for v in key.values())
            if (
                plan["mode"] == "garble"
                and now
                and any(now.get(k, {}).get("S") == v for k, v in plan["garbled"].items())
                or plan["mode"] == "drop-attribute"
                and now
                and plan["dropped"] not in now
                or plan["mode"] == "delete"
                and now is None
            ):
                left.append(label)
        return left
