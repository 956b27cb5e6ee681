"""Lambda faults without FIS: reserved concurrency, and a bad version deployed through the alias.

A bad version is the served version with a handler that does not exist, so
every invocation it gets fails with Runtime.ImportModuleError (API Gateway
answers 502). With a share below 100 % the alias routes only that share to it
(weighted alias), which is how `lambda.invocation-error` works without FIS.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, Percentage, ReservedConcurrency
from chaos.aws.checks import function_problems, guarded, publish_problems
from chaos.aws.context import ActionHandler, NamedCall, api, clean_up_failed_inject, marker_call
from chaos.aws.function import FunctionChanges, LambdaFunction, publish_plan
from chaos.provider import Undo
from common.errors import ProviderError

BAD_HANDLER = "hanbit_drill_fault.missing_handler"
BAD_DESCRIPTION = "hanbit-drill bad version"


def bad_description(alias: str, version: str) -> str:
    """The published bad version's description: it starts with BAD_DESCRIPTION, which finds leftovers."""
    return f"{BAD_DESCRIPTION} ({alias} was {version})"


class ConcurrencyFault(ActionHandler):
    """Reserved concurrency set to `limit` (0: every invocation is throttled, 429)."""

    actions = frozenset({"lambda.reserved-concurrency"})

    def region_of(self, call: ActionCall) -> str:
        return self.target.region

    def limit_of(self, call: ActionCall) -> int:
        params = call.typed_params()
        assert isinstance(params, ReservedConcurrency)
        return params.limit

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name, self.region_of(call))

    def preflight(self, call: ActionCall) -> list[str]:
        return function_problems(self.ctx, self.region_of(call))

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        fn = self.target.function
        return [
            *super().named_calls(call),
            marker_call(self.marker(call)),
            ("lambda:PutFunctionConcurrency", {"FunctionName": fn}),
        ]

    def plan(self, call: ActionCall) -> list[str]:
        fn, region = self.target.function, self.region_of(call)
        return [
            "inject: " + api("lambda", "GetFunctionConcurrency", FunctionName=fn) + f"  (in {region})",
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot>"),
            "inject: "
            + api("lambda", "PutFunctionConcurrency", FunctionName=fn, ReservedConcurrentExecutions=self.limit_of(call))
            + f"  (in {region})",
            "revert: "
            + api("lambda", "PutFunctionConcurrency", FunctionName=fn, ReservedConcurrentExecutions="<previous>")
            + f"  (in {region}; lambda:DeleteFunctionConcurrency if there was none)",
            "revert: " + api("lambda", "GetFunctionConcurrency", FunctionName=fn) + "  (leftover check)",
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    def inject(self, call: ActionCall) -> Undo:
        fn = LambdaFunction(self.ctx, self.region_of(call))
        undo: dict[str, JsonValue] = {
            "region": fn.region,
            "function": fn.name,
            "previous": fn.concurrency(),
            "limit": self.limit_of(call),
        }
        self.ctx.markers.put(self.marker(call), undo)
        try:
            fn.set_concurrency(self.limit_of(call))
        except ProviderError:
            self.ctx.markers.delete(self.marker(call))  # nothing changed
            raise
        return undo

    def revert(self, call: ActionCall, undo: Undo) -> None:
        marker = self.marker(call)
        undo = undo or self.ctx.markers.get(marker) or {}
        if not undo:
            return  # never injected
        fn = LambdaFunction(self.ctx, str(undo["region"]))
        previous = undo.get("previous")
        fn.set_concurrency(None if previous is None else int(str(previous)))
        now = fn.concurrency()
        if now != previous:
            raise ProviderError(
                f"reserved concurrency of {fn.name} in {fn.region} is {now} after revert, expected {previous}"
            )
        self.ctx.markers.delete(marker)


class BadVersionFault(ActionHandler):
    """`lambda.deploy-bad-version`, and `lambda.invocation-error` as a weighted alias when FIS is off."""

    actions = frozenset({"lambda.deploy-bad-version"})

    def share(self, call: ActionCall) -> float:
        params = call.typed_params()
        return params.percentage / 100 if isinstance(params, Percentage) else 1.0

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name)

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        # The longest description it publishes: the alias's version as a number of up to 10 digits.
        described = bad_description(self.target.alias, "9" * 10)
        return [
            *super().named_calls(call),
            marker_call(self.marker(call)),
            ("lambda:PublishVersion", {"FunctionName": self.target.function, "Description": described}),
        ]

    def preflight(self, call: ActionCall) -> list[str]:
        problems = function_problems(self.ctx)
        if problems:
            return problems

        def package() -> list[str]:
            config = LambdaFunction(self.ctx).configuration()
            if config.get("PackageType", "Zip") != "Zip":
                return [f"{self.target.function} is a container image: a bad version needs a zip package handler"]
            return []

        return guarded(package, "checking the package type") + publish_problems(self.ctx)

    def plan(self, call: ActionCall) -> list[str]:
        fn, alias, share = self.target.function, self.target.alias, self.share(call)
        route = (
            {"FunctionVersion": "<bad>", "RoutingConfig": {}}
            if share >= 1
            else {"FunctionVersion": "<current>", "RoutingConfig": {"<bad>": round(share, 4)}}
        )
        publish = publish_plan(
            fn,
            alias,
            {"Handler": BAD_HANDLER},
            bad_description(alias, "<current>"),
            restore={"Handler": "<handler before>"},
        )
        return [
            "inject: " + publish[0],
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot>"),
            *("inject: " + line for line in publish[1:]),
            "inject: " + api("lambda", "UpdateAlias", FunctionName=fn, Name=alias, **route),
            "revert: "
            + api(
                "lambda",
                "UpdateAlias",
                FunctionName=fn,
                Name=alias,
                FunctionVersion="<current>",
                RoutingConfig="<before>",
            )
            + "  (only if it still routes to <bad>)",
            "revert: " + api("lambda", "DeleteFunction", FunctionName=fn, Qualifier="<bad>"),
            "revert: " + api("lambda", "ListVersionsByFunction", FunctionName=fn) + "  (leftover check)",
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    def inject(self, call: ActionCall) -> Undo:
        fn = LambdaFunction(self.ctx)
        alias = fn.get_alias()
        if alias.weights:
            raise ProviderError(f"alias {fn.alias} already routes to {sorted(alias.weights)}; refusing to add a fault")
        latest = fn.configuration()
        undo: dict[str, Any] = {
            "region": fn.region,
            "alias_version": alias.version,
            "alias_weights": alias.weights,
            "latest_handler": latest["Handler"],
            "bad_version": None,
            "share": self.share(call),
        }
        marker = self.marker(call)
        self.ctx.markers.put(marker, undo)
        try:
            bad = fn.publish_variant(
                FunctionChanges(handler=BAD_HANDLER),
                bad_description(fn.alias, alias.version),
                keep_latest=False,
            )
            undo["bad_version"] = bad
            self.ctx.markers.put(marker, undo)
            if undo["share"] >= 1:
                fn.update_alias(bad)
            else:
                fn.update_alias(alias.version, {bad: round(float(undo["share"]), 4)})
        except Exception as exc:
            clean_up_failed_inject(self.ctx, exc, marker, lambda: self._undo(fn, undo))
            raise
        return undo

    def revert(self, call: ActionCall, undo: Undo) -> None:
        marker = self.marker(call)
        undo = undo or self.ctx.markers.get(marker) or {}
        if not undo:
            return
        fn = LambdaFunction(self.ctx, str(undo["region"]))
        self._undo(fn, undo)
        leftovers = self._leftovers(fn)
        if leftovers:
            raise ProviderError("revert left: " + "; ".join(leftovers))
        self.ctx.markers.delete(marker)

    def _undo(self, fn: LambdaFunction, undo: dict[str, Any]) -> None:
        alias = fn.get_alias()
        bad_versions = set(self._bad_versions(fn)) | ({str(undo["bad_version"])} if undo.get("bad_version") else set())
        if alias.version in bad_versions or bad_versions & set(alias.weights):
            # Only undo our own routing: an alias moved elsewhere since (a rollback) is not ours to touch.
            fn.update_alias(str(undo["alias_version"]), dict(undo.get("alias_weights") or {}))
        latest = fn.configuration()
        if latest.get("Handler") == BAD_HANDLER:
            fn.update_latest({"Handler": undo["latest_handler"]})
        alias = fn.get_alias()
        for version in sorted(bad_versions):
            if version != alias.version and version not in alias.weights:
                fn.delete_version(version)

    def _bad_versions(self, fn: LambdaFunction) -> list[str]:
        return [
            v["Version"]
            for v in fn.versions()
            if v.get("Handler") == BAD_HANDLER and str(v.get("Description", "")).startswith(BAD_DESCRIPTION)
        ]

    def _leftovers(self, fn: LambdaFunction) -> list[str]:
        left = [f"bad version {v} of {fn.name} still exists" for v in self._bad_versions(fn)]
        if fn.configuration().get("Handler") == BAD_HANDLER:
            left.append(f"$LATEST of {fn.name} still has handler {BAD_HANDLER}")
        return left
