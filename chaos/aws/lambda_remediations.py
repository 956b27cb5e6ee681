"""Runbook steps for scenario 1 (single Lambda function failure)."""

from __future__ import annotations

import math

from pydantic import JsonValue

from chaos.actions import ActionCall, Rollback, UpdateFunctionConfig
from chaos.aws.checks import function_problems, guarded, publish_problems
from chaos.aws.context import ActionHandler, NamedCall, api
from chaos.aws.function import FunctionChanges, LambdaFunction, publish_plan
from chaos.provider import RemediationContext
from common.errors import ProviderError

UPDATE_CONFIG_DESCRIPTION = "hanbit-drill update-config"
# Faults whose undo data records the version the alias served before the drill.
_ALIAS_FAULTS = ("lambda.deploy-bad-version", "lambda.invocation-error")


class RollbackRemediation(ActionHandler):
    """update-alias LIVE --function-version $PREVIOUS_VERSION."""

    actions = frozenset({"lambda.rollback"})

    def preflight(self, call: ActionCall) -> list[str]:
        params = self._params(call)
        problems = function_problems(self.ctx)
        if problems:
            return problems
        # A fault of the same drill that moves the alias provides the version to go back to.
        if not params.to_version and any(c.name in _ALIAS_FAULTS for c in self.ctx.scenario):
            return []

        def previous() -> list[str]:
            fn = LambdaFunction(self.ctx)
            current = fn.get_alias(params.alias).version
            if params.to_version:
                if params.to_version not in {v["Version"] for v in fn.versions()}:
                    return [f"lambda.rollback: version {params.to_version} of {fn.name} does not exist"]
                return []
            if fn.previous_version(current) is None:
                return [
                    f"alias {params.alias} of {fn.name} points at version {current} and there is no earlier "
                    f"published version to roll back to"
                ]
            return []

        return guarded(previous, "checking the previous version")

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        alias = self._params(call).alias
        updated = {"FunctionName": self.target.function, "Name": alias}
        return [*super().named_calls(call), ("lambda:UpdateAlias", updated)]

    def _params(self, call: ActionCall) -> Rollback:
        params = call.typed_params()
        assert isinstance(params, Rollback)
        return params

    def plan(self, call: ActionCall) -> list[str]:
        params, fn = self._params(call), self.target.function
        to = params.to_version or "<version before the fault, else the highest below the current one>"
        return [
            "remediate: " + api("lambda", "GetAlias", FunctionName=fn, Name=params.alias),
            "remediate: " + api("lambda", "ListVersionsByFunction", FunctionName=fn) + "  (without to_version)",
            "remediate: "
            + api("lambda", "UpdateAlias", FunctionName=fn, Name=params.alias, FunctionVersion=to, RoutingConfig={}),
        ]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        params = self._params(call)
        fn = LambdaFunction(self.ctx)
        current = fn.get_alias(params.alias)
        to = params.to_version or self._from_fault(context, params.alias) or fn.previous_version(current.version)
        if to is None:
            raise ProviderError(
                f"alias {params.alias} of {fn.name} is at version {current.version}: "
                f"no previous version to roll back to"
            )
        fn.update_alias(to, {}, alias=params.alias)
        return {
            "alias": params.alias,
            "from_version": current.version,
            "to_version": to,
            "cleared_weights": sorted(current.weights),
        }

    def _from_fault(self, context: RemediationContext, alias: str) -> str | None:
        if alias != self.target.alias:
            return None
        # The first alias-moving fault's own snapshot: a later one's is the version the first one made.
        fault = context.first_fault(_ALIAS_FAULTS, having="alias_version")
        return str(fault.undo["alias_version"]) if fault is not None else None


class DeleteConcurrencyRemediation(ActionHandler):
    actions = frozenset({"lambda.delete-concurrency"})

    def preflight(self, call: ActionCall) -> list[str]:
        return function_problems(self.ctx)

    def plan(self, call: ActionCall) -> list[str]:
        fn = self.target.function
        return [
            "remediate: " + api("lambda", "GetFunctionConcurrency", FunctionName=fn),
            "remediate: " + api("lambda", "DeleteFunctionConcurrency", FunctionName=fn),
        ]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        fn = LambdaFunction(self.ctx)
        previous = fn.concurrency()
        fn.set_concurrency(None)
        return {"function": fn.name, "previous_limit": previous}


class UpdateConfigRemediation(ActionHandler):
    """Raise timeout/memory (manual: 512 MB, 30 s) on a new version, then move the alias to it."""

    actions = frozenset({"lambda.update-config"})

    def _changes(self, call: ActionCall) -> FunctionChanges:
        params = call.typed_params()
        assert isinstance(params, UpdateFunctionConfig)
        timeout = None if params.timeout_s is None else math.ceil(params.timeout_s)
        return FunctionChanges(timeout_s=timeout, memory_mb=params.memory_mb)

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        described = {"FunctionName": self.target.function, "Description": UPDATE_CONFIG_DESCRIPTION}
        return [*super().named_calls(call), ("lambda:PublishVersion", described)]

    def preflight(self, call: ActionCall) -> list[str]:
        params = call.typed_params()
        assert isinstance(params, UpdateFunctionConfig)
        problems = []
        if params.timeout_s is None and params.memory_mb is None:
            problems.append("lambda.update-config: give timeout_s and/or memory_mb")
        if params.timeout_s is not None and params.timeout_s != int(params.timeout_s):
            problems.append(f"lambda.update-config: Lambda timeouts are whole seconds, not {params.timeout_s}")
        found = function_problems(self.ctx)
        return problems + found + ([] if found else publish_problems(self.ctx))

    def plan(self, call: ActionCall) -> list[str]:
        changes, fn, alias = self._changes(call), self.target.function, self.target.alias
        update = {k: v for k, v in (("Timeout", changes.timeout_s), ("MemorySize", changes.memory_mb)) if v is not None}
        return [
            *("remediate: " + line for line in publish_plan(fn, alias, update, UPDATE_CONFIG_DESCRIPTION)),
            "remediate: "
            + api("lambda", "UpdateAlias", FunctionName=fn, Name=alias, FunctionVersion="<new>", RoutingConfig={}),
        ]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        fn = LambdaFunction(self.ctx)
        changes = self._changes(call)
        previous = fn.get_alias().version
        version = fn.publish_variant(changes, UPDATE_CONFIG_DESCRIPTION, keep_latest=True)
        fn.update_alias(version)
        return {
            "from_version": previous,
            "to_version": version,
            "timeout_s": changes.timeout_s,
            "memory_mb": changes.memory_mb,
        }
