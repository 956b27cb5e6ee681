"""The Lambda function `todo-api` and its alias, as the drill sees them.

Faults and remediations that need a new version (a bad version, a raised
timeout, a repointed TABLE_NAME) publish it from `$LATEST`. That is only safe
when `$LATEST` is what the alias serves today; otherwise the drill would ship
unreleased code or config. `drift` finds such differences and `publish_variant`
refuses to publish over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.aws.context import AwsContext, api
from common.errors import ProviderError

# Fields whose difference between $LATEST and the alias version would leak into a published variant.
DRIFT_FIELDS = (
    "CodeSha256",
    "Handler",
    "Runtime",
    "Timeout",
    "MemorySize",
    "Role",
    "Environment",
    "Layers",
    "Architectures",
)


@dataclass(frozen=True)
class AliasState:
    version: str
    weights: dict[str, float]  # RoutingConfig.AdditionalVersionWeights


@dataclass(frozen=True)
class FunctionChanges:
    """Configuration changes for a published variant. Unset fields stay as they are."""

    handler: str | None = None
    timeout_s: int | None = None
    memory_mb: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # merged into the existing variables

    def update_params(self, latest: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.handler is not None:
            params["Handler"] = self.handler
        if self.timeout_s is not None:
            params["Timeout"] = self.timeout_s
        if self.memory_mb is not None:
            params["MemorySize"] = self.memory_mb
        if self.env:
            params["Environment"] = {"Variables": {**env_vars(latest), **self.env}}
        return params

    def restore_params(self, before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
        """Undo these changes on `$LATEST` (config `now`), back to `before`, touching only our fields."""
        params: dict[str, Any] = {}
        if self.handler is not None and now.get("Handler") == self.handler:
            params["Handler"] = before["Handler"]
        if self.timeout_s is not None and now.get("Timeout") == self.timeout_s:
            params["Timeout"] = before["Timeout"]
        if self.memory_mb is not None and now.get("MemorySize") == self.memory_mb:
            params["MemorySize"] = before["MemorySize"]
        if self.env:
            variables = dict(env_vars(now))
            old = env_vars(before)
            for key, value in self.env.items():
                if variables.get(key) != value:
                    continue  # someone else changed it since: not ours to reset
                if key in old:
                    variables[key] = old[key]
                else:
                    variables.pop(key, None)
            if variables != env_vars(now):
                params["Environment"] = {"Variables": variables}
        return params


def publish_plan(
    function: str, alias: str, update: dict[str, object], description: str, restore: dict[str, object] | None = None
) -> list[str]:
    """Plan lines of `LambdaFunction.publish_variant` followed by the alias move callers make."""
    lines = [
        api("lambda", "GetAlias", FunctionName=function, Name=alias),
        api("lambda", "GetFunctionConfiguration", FunctionName=function)
        + "  ($LATEST and Qualifier=<current>: refuse if $LATEST differs from what the alias serves)",
        api("lambda", "UpdateFunctionConfiguration", FunctionName=function, **update),
        api("lambda", "PublishVersion", FunctionName=function, Description=description, CodeSha256="<$LATEST>"),
    ]
    if restore is not None:
        lines.append(api("lambda", "UpdateFunctionConfiguration", FunctionName=function, **restore))
    return lines


def env_vars(config: dict[str, Any]) -> dict[str, str]:
    return dict(config.get("Environment", {}).get("Variables", {}) or {})


def layer_arns(config: dict[str, Any]) -> list[str]:
    return [layer["Arn"] for layer in config.get("Layers", []) or []]


def unqualified_arn(function_arn: str) -> str:
    # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    return ":".join(function_arn.split(":")[:7])


class LambdaFunction:
    def __init__(self, ctx: AwsContext, region: str | None = None, name: str | None = None) -> None:
        self.ctx = ctx
        self.region = region or ctx.target.region
        self.name = name or ctx.target.function
        self.alias = ctx.target.alias

    # ---- reads -------------------------------------------------------------------------------

    def configuration(self, qualifier: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"FunctionName": self.name}
        if qualifier:
            params["Qualifier"] = qualifier
        return self.ctx.call("lambda", "get_function_configuration", self.region, **params)

    def get_alias(self, alias: str | None = None) -> AliasState:
        found = self.ctx.call("lambda", "get_alias", self.region, FunctionName=self.name, Name=alias or self.alias)
        weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return AliasState(str(found["FunctionVersion"]), {str(k): float(v) for k, v in weights.items()})

    def versions(self) -> list[dict[str, Any]]:
        out = []
        for page in self.ctx.clients.paginate(
            "lambda", "list_versions_by_function", self.region, FunctionName=self.name
        ):
            out += [v for v in page.get("Versions", []) if v["Version"] != "$LATEST"]
        return sorted(out, key=lambda v: int(v["Version"]))

    def previous_version(self, current: str) -> str | None:
        """The highest published version below `current` (the runbook's $PREVIOUS_VERSION)."""
        if not current.isdigit():
            return None
        older = [v["Version"] for v in self.versions() if int(v["Version"]) < int(current)]
        return older[-1] if older else None

    def concurrency(self) -> int | None:
        found = self.ctx.call("lambda", "get_function_concurrency", self.region, FunctionName=self.name)
        value = found.get("ReservedConcurrentExecutions")
        return None if value is None else int(value)

    def drift(self, version: str) -> list[str]:
        """Fields in which `$LATEST` differs from `version`."""
        latest, served = self.configuration(), self.configuration(version)
        diffs = []
        for name in DRIFT_FIELDS:
            a, b = latest.get(name), served.get(name)
            if name == "Environment":
                a, b = env_vars(latest), env_vars(served)
            elif name == "Layers":
                a, b = layer_arns(latest), layer_arns(served)
            if a != b:
                diffs.append(name)
        return diffs

    # ---- writes ------------------------------------------------------------------------------

    def set_concurrency(self, limit: int | None) -> None:
        if limit is None:
            self.ctx.clients.call(
                "lambda",
                "delete_function_concurrency",
                self.region,
                FunctionName=self.name,
                ignore=("ResourceNotFoundException",),
            )
        else:
            self.ctx.call(
                "lambda",
                "put_function_concurrency",
                self.region,
                FunctionName=self.name,
                ReservedConcurrentExecutions=limit,
            )

    def update_alias(self, version: str, weights: dict[str, float] | None = None, alias: str | None = None) -> None:
        self.ctx.call(
            "lambda",
            "update_alias",
            self.region,
            FunctionName=self.name,
            Name=alias or self.alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )

    def update_latest(self, params: dict[str, Any]) -> dict[str, Any]:
        self.ctx.call("lambda", "update_function_configuration", self.region, FunctionName=self.name, **params)
        return self.wait_updated()

    def wait_updated(self) -> dict[str, Any]:
        """Wait until a configuration update of `$LATEST` has finished (Lambda applies them asynchronously)."""

        def probe() -> dict[str, Any] | None:
            config = self.configuration()
            status = config.get("LastUpdateStatus")
            if status == "Failed":
                raise ProviderError(f"update of {self.name} failed: {config.get('LastUpdateStatusReason', '')}")
            return config if status in (None, "Successful") else None

        return self.ctx.poll.until(probe, f"the configuration update of {self.name} to finish")

    def publish_variant(self, changes: FunctionChanges, description: str, keep_latest: bool) -> str:
        """Publish a version equal to the alias's version except for `changes`; return its number.

        With keep_latest=False, `$LATEST` is set back afterwards (the variant exists only as a version)."""
        served = self.get_alias().version
        drift = self.drift(served)
        if drift:
            raise ProviderError(
                f"$LATEST of {self.name} differs from version {served} behind alias {self.alias} in "
                f"{', '.join(drift)}; publishing from it would ship unreleased changes"
            )
        before = self.configuration()
        after = self.update_latest(changes.update_params(before))
        try:
            params: dict[str, Any] = {
                "FunctionName": self.name,
                "Description": description,
                "CodeSha256": after["CodeSha256"],
            }
            if after.get("RevisionId"):
                params["RevisionId"] = after["RevisionId"]  # fail rather than publish someone else's edit
            version = str(self.ctx.call("lambda", "publish_version", self.region, **params)["Version"])
        finally:
            if not keep_latest:
                self.restore_latest(changes, before)
        return version

    def restore_latest(self, changes: FunctionChanges, before: dict[str, Any]) -> None:
        params = changes.restore_params(before, self.configuration())
        if params:
            self.update_latest(params)

    def delete_version(self, version: str) -> None:
        self.ctx.clients.call(
            "lambda",
            "delete_function",
            self.region,
            FunctionName=self.name,
            Qualifier=version,
            ignore=("ResourceNotFoundException",),
        )
