"""Runbook steps for scenario 2 (DynamoDB table corruption): restore and repoint (the backup before it:
`chaos.aws.table_backup`).

A restore creates a new table with the data, keys, indexes, billing and
encryption of the source, but not its TTL, stream, tags or PITR setting:
those are re-applied here (PITR retried: right after a restore it is commonly
refused for a while). What a restore cannot carry over (auto scaling, alarms,
resource policy, replicas, stream consumers: `chaos.aws.table_gaps`) is found
by describing the source first and listed in the journal. Then `TABLE_NAME`
is repointed on a new version published from `$LATEST` and the alias moves to
it; `$LATEST` keeps the new value so it stays equal to what the alias serves.
The restored table exists in the primary region only: a secondary region's
function still serving the source is named in the journal, not silently left.
The source table is left as it is, for the post-mortem.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, RestoreTable
from chaos.aws.checks import function_problems, guarded, publish_problems
from chaos.aws.context import ActionHandler, NamedCall, api
from chaos.aws.errors import AwsApiError
from chaos.aws.function import FunctionChanges, LambdaFunction, env_vars, publish_plan
from chaos.aws.limits import LAMBDA_DESCRIPTION, fit
from chaos.aws.table_backup import iso, table_problems, utc
from chaos.aws.table_gaps import RestoreGaps
from chaos.provider import RemediationContext
from common.errors import ProviderError

_BACKUPS_UNAVAILABLE = "ContinuousBackupsUnavailableException"


def repoint_description(variable: str, table: str) -> str:
    # Descriptions hold 256 characters and table names 255: cut, never refused (it only describes).
    return fit(f"hanbit-drill repoint {variable}={table}", LAMBDA_DESCRIPTION)


class RestoreRemediation(ActionHandler):
    actions = frozenset({"table.restore"})

    def _params(self, call: ActionCall) -> RestoreTable:
        params = call.typed_params()
        assert isinstance(params, RestoreTable)
        return params

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        params, fn = self._params(call), self.target.function
        description = repoint_description(self.ctx.settings.table_name_variable, params.target_table)
        return [
            *super().named_calls(call),
            (
                "dynamodb:RestoreTableToPointInTime",
                {"SourceTableName": self.target.table, "TargetTableName": params.target_table},
            ),
            ("lambda:PublishVersion", {"FunctionName": fn, "Description": description}),
        ]

    def preflight(self, call: ActionCall) -> list[str]:
        params, table = self._params(call), self.target.table
        problems = table_problems(self, table)
        if problems:
            return problems

        def check() -> list[str]:
            out = []
            if params.source == "pitr":
                pitr = self.ctx.call("dynamodb", "describe_continuous_backups", TableName=table)
                status = pitr["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
                if status.get("PointInTimeRecoveryStatus") != "ENABLED":
                    out.append(
                        f"point-in-time recovery is not enabled on table {table} "
                        f"(aws dynamodb update-continuous-backups --table-name {table} "
                        f"--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true)"
                    )
            elif not self._backups() and not any(c.name == "table.backup" for c in self.ctx.scenario):
                out.append(f"table {table} has no AVAILABLE backup to restore (create one, e.g. with table.backup)")
            exists = self.ctx.clients.call(
                "dynamodb", "describe_table", TableName=params.target_table, ignore=("ResourceNotFoundException",)
            )
            if exists is not None:
                out.append(
                    f"restore target table {params.target_table} already exists (left by an earlier drill?): "
                    f"delete it or set target_table"
                )
            return out

        problems += guarded(check, f"checking backups of {table}")
        if params.repoint:
            found = function_problems(self.ctx)
            problems += found or (publish_problems(self.ctx) + guarded(self._env_problems, "checking TABLE_NAME"))
        return problems

    def _env_problems(self) -> list[str]:
        fn, var = LambdaFunction(self.ctx), self.ctx.settings.table_name_variable
        value = env_vars(fn.configuration(fn.get_alias().version)).get(var)
        if value != self.target.table:
            return [f"{fn.name}:{fn.alias} has {var}={value!r}, not {self.target.table!r}: repointing would be wrong"]
        return []

    def plan(self, call: ActionCall) -> list[str]:
        params, table, fn = self._params(call), self.target.table, self.target.function
        target = params.target_table
        if params.source == "pitr":
            restore = [
                api("dynamodb", "DescribeContinuousBackups", TableName=table),
                api(
                    "dynamodb",
                    "RestoreTableToPointInTime",
                    SourceTableName=table,
                    TargetTableName=target,
                    RestoreDateTime=f"<fault_at - {params.before_fault_s:g} s>",
                ),
            ]
        else:
            restore = [
                api("dynamodb", "ListBackups", TableName=table, BackupType="ALL"),
                api(
                    "dynamodb",
                    "RestoreTableFromBackup",
                    TargetTableName=target,
                    BackupArn="<latest AVAILABLE backup made before the fault>",
                ),
            ]
        lines = [
            api("dynamodb", "DescribeTable", TableName=table) + "  (stream settings to re-apply)",
            api("dynamodb", "DescribeTimeToLive", TableName=table),
            api("dynamodb", "ListTagsOfResource", ResourceArn=f"<{table} ARN>"),
            *RestoreGaps.plan(table),
            *restore,
            api("dynamodb", "DescribeTable", TableName=target) + "  (until ACTIVE)",
            api(
                "dynamodb",
                "UpdateContinuousBackups",
                TableName=target,
                PointInTimeRecoverySpecification="<as on source>",
            )
            + f"  (retried while {_BACKUPS_UNAVAILABLE}, waits doubling from "
            f"{self.ctx.settings.backups_retry_first_s:g} s)",
            api("dynamodb", "UpdateTimeToLive", TableName=target, TimeToLiveSpecification="<as on source, if enabled>"),
            api("dynamodb", "TagResource", ResourceArn=f"<{target} ARN>", Tags="<source tags>"),
            api("dynamodb", "UpdateTable", TableName=target, StreamSpecification="<as on source, if enabled>"),
            api("dynamodb", "DescribeTable", TableName=target) + "  (until ACTIVE)",
        ]
        if params.repoint:
            var = self.ctx.settings.table_name_variable
            lines += [
                *publish_plan(
                    fn,
                    self.target.alias,
                    {"Environment": f"<current variables with {var}={target}>"},
                    repoint_description(var, target),
                ),
                api(
                    "lambda",
                    "UpdateAlias",
                    FunctionName=fn,
                    Name=self.target.alias,
                    FunctionVersion="<new>",
                    RoutingConfig={},
                ),
            ]
            if self.target.secondary_region:
                lines.append(
                    api("lambda", "GetFunctionConfiguration", FunctionName=fn, Qualifier=self.target.alias)
                    + f"  (in {self.target.secondary_region}: does it still serve {table}? said in the journal)"
                )
        return ["remediate: " + line for line in lines]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        params, table = self._params(call), self.target.table
        source = self.ctx.call("dynamodb", "describe_table", TableName=table)["Table"]
        ttl = self.ctx.call("dynamodb", "describe_time_to_live", TableName=table).get("TimeToLiveDescription", {})
        tags = self.ctx.call("dynamodb", "list_tags_of_resource", ResourceArn=source["TableArn"]).get("Tags", [])
        pitr = self.ctx.call("dynamodb", "describe_continuous_backups", TableName=table)[
            "ContinuousBackupsDescription"
        ].get("PointInTimeRecoveryDescription", {})
        extras = RestoreGaps(self.ctx).describe(source)  # before the restore: the source as it was
        detail: dict[str, JsonValue] = {
            "source": params.source,
            "source_table": table,
            "restored_table": params.target_table,
        }
        detail.update(self._restore(params, context, pitr))
        self._wait_active(params.target_table)
        reapplied, failed = self._reapply(params.target_table, source, ttl, tags, pitr)
        detail["reapplied"] = reapplied
        # What the restored table lacks: never copied (extras), or re-applying it failed (failed).
        detail["not_restored"] = [*failed, *extras.lacking(params.target_table)]
        if params.repoint:
            detail.update(self._repoint(params.target_table))
            detail["not_repointed"] = self._other_regions(params.target_table)
        return detail

    def _restore(self, params: RestoreTable, context: RemediationContext, pitr: dict[str, Any]) -> dict[str, JsonValue]:
        table, target = self.target.table, params.target_table
        if params.source == "pitr":
            if context.fault_at is None:
                raise ProviderError("table.restore from PITR needs the time of the fault, and no fault was injected")
            if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
                raise ProviderError(f"point-in-time recovery is not enabled on table {table}")
            at = utc(context.fault_at - params.before_fault_s)
            earliest = pitr.get("EarliestRestorableDateTime")
            if isinstance(earliest, datetime) and at < earliest:
                raise ProviderError(
                    f"restore point {at.isoformat()} is before the earliest restorable time {iso(earliest)} of {table}"
                )
            self._wait_restorable(at)
            self.ctx.call(
                "dynamodb",
                "restore_table_to_point_in_time",
                SourceTableName=table,
                TargetTableName=target,
                RestoreDateTime=at,
            )
            return {"restore_point": at.isoformat()}
        backups = self._backups(before=context.fault_at)
        if not backups:
            when = "" if context.fault_at is None else f" made before the fault ({utc(context.fault_at).isoformat()})"
            raise ProviderError(f"table {table} has no AVAILABLE backup{when}")
        backup = backups[-1]
        self.ctx.call("dynamodb", "restore_table_from_backup", TargetTableName=target, BackupArn=backup["BackupArn"])
        return {
            "backup_arn": backup["BackupArn"],
            "backup_name": backup.get("BackupName", ""),
            "restore_point": iso(backup["BackupCreationDateTime"]),
        }

    def _wait_restorable(self, at: datetime) -> None:
        """PITR lags: the latest restorable time trails the present by up to about five minutes."""

        def covered() -> bool | None:
            found = self.ctx.call("dynamodb", "describe_continuous_backups", TableName=self.target.table)
            latest = (
                found["ContinuousBackupsDescription"]
                .get("PointInTimeRecoveryDescription", {})
                .get("LatestRestorableDateTime")
            )
            return True if isinstance(latest, datetime) and latest >= at else None

        self.ctx.poll.until(covered, f"point-in-time recovery of {self.target.table} to cover {at.isoformat()}")

    def _backups(self, before: float | None = None) -> list[dict[str, Any]]:
        out = []
        for page in self.ctx.clients.paginate(
            "dynamodb", "list_backups", TableName=self.target.table, BackupType="ALL"
        ):
            out += [b for b in page.get("BackupSummaries", []) if b.get("BackupStatus") == "AVAILABLE"]
        if before is not None:
            out = [b for b in out if b["BackupCreationDateTime"] <= utc(before)]
        return sorted(out, key=lambda b: b["BackupCreationDateTime"])

    def _wait_active(self, table: str) -> None:
        def active() -> bool | None:
            found = self.ctx.clients.call(
                "dynamodb", "describe_table", TableName=table, ignore=("ResourceNotFoundException",)
            )
            return True if found and found["Table"]["TableStatus"] == "ACTIVE" else None

        self.ctx.poll.until(active, f"table {table} to become ACTIVE")

    def _reapply(
        self, target: str, source: dict[str, Any], ttl: dict[str, Any], tags: list[dict[str, str]], pitr: dict[str, Any]
    ) -> tuple[list[JsonValue], list[JsonValue]]:
        """Re-apply what a restore drops. Returns (done, failed): a setting AWS refuses is listed, not raised,
        so the repoint that ends the outage still happens and the journal says what is missing."""
        steps: list[tuple[str, Any]] = []
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            steps.append(("pitr", lambda: self._enable_pitr(target)))
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            spec = {"Enabled": True, "AttributeName": ttl["AttributeName"]}

            def set_ttl() -> None:
                self.ctx.call("dynamodb", "update_time_to_live", TableName=target, TimeToLiveSpecification=spec)

            steps.append((f"ttl:{ttl['AttributeName']}", set_ttl))
        if tags:
            steps.append((f"tags:{len(tags)}", lambda: self._tag(target, tags)))
        stream = source.get("StreamSpecification") or {}
        if stream.get("StreamEnabled"):
            steps.append((f"stream:{stream['StreamViewType']}", lambda: self._stream(target, stream["StreamViewType"])))
        done: list[JsonValue] = []
        failed: list[JsonValue] = []
        for name, step in steps:
            try:
                step()
                done.append(name)
            except AwsApiError as exc:
                failed.append(f"{target} lacks {name.split(':')[0]} of the source: re-applying it failed ({exc})")
        return done, failed

    def _enable_pitr(self, target: str) -> None:
        """Right after a restore is ACTIVE, UpdateContinuousBackups commonly answers
        ContinuousBackupsUnavailableException ("backups are being enabled") for a while: retried with
        doubling waits."""
        wait, attempts = self.ctx.settings.backups_retry_first_s, self.ctx.settings.backups_retry_attempts
        for attempt in range(1, attempts + 1):
            try:
                self.ctx.call(
                    "dynamodb",
                    "update_continuous_backups",
                    TableName=target,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
                return
            except AwsApiError as exc:
                if exc.code != _BACKUPS_UNAVAILABLE or attempt == attempts:
                    raise
            self.ctx.poll.sleep(wait)
            wait *= 2

    def _tag(self, target: str, tags: list[dict[str, str]]) -> None:
        arn = self.ctx.call("dynamodb", "describe_table", TableName=target)["Table"]["TableArn"]
        self.ctx.call("dynamodb", "tag_resource", ResourceArn=arn, Tags=tags)

    def _stream(self, target: str, view: str) -> None:
        self.ctx.call(
            "dynamodb",
            "update_table",
            TableName=target,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
        )
        self._wait_active(target)

    def _repoint(self, target: str) -> dict[str, JsonValue]:
        fn, var = LambdaFunction(self.ctx), self.ctx.settings.table_name_variable
        previous = fn.get_alias().version
        description = repoint_description(var, target)
        version = fn.publish_variant(FunctionChanges(env={var: target}), description, keep_latest=True)
        fn.update_alias(version)
        return {"repointed": f"{var}={target}", "from_version": previous, "to_version": version}

    def _other_regions(self, target: str) -> list[JsonValue]:
        """Functions in other regions that still serve the source table: the restored table exists only in the
        primary region, so they cannot be repointed to it; the journal names them instead of leaving them."""
        region, var = self.target.secondary_region, self.ctx.settings.table_name_variable
        if not region:
            return []
        fn = LambdaFunction(self.ctx, region)
        found = self.ctx.clients.call(
            "lambda",
            "get_function_configuration",
            region,
            FunctionName=fn.name,
            Qualifier=fn.alias,
            ignore=("ResourceNotFoundException",),
        )
        if found is None or env_vars(found).get(var) != self.target.table:
            return []
        return [
            f"{fn.name}:{fn.alias} in {region} still serves {var}={self.target.table}: {target} exists in "
            f"{self.target.region} only; add a replica there (UpdateTable ReplicaUpdates Create RegionName={region}) "
            f"and repoint it, or a failover serves the corrupted data"
        ]
