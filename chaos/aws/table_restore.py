"""Runbook steps for scenario 2 (DynamoDB table corruption): back up, restore, repoint.

A restore creates a new table with the data, keys, indexes, billing and
encryption of the source, but not its TTL, stream, tags or PITR setting:
those are re-applied here. Then `TABLE_NAME` is repointed on a new version
published from `$LATEST` and the alias moves to it; `$LATEST` keeps the new
value so it stays equal to what the alias serves. The source table is left
as it is, for the post-mortem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, RestoreTable
from chaos.aws.checks import function_problems, guarded, publish_problems
from chaos.aws.context import ActionHandler, api
from chaos.aws.function import FunctionChanges, LambdaFunction, env_vars, publish_plan
from chaos.provider import RemediationContext
from common.errors import ProviderError


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _iso(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else str(value)


class BackupRemediation(ActionHandler):
    """create-backup todos-backup-YYYYMMDD-HHMMSS, waiting until it is AVAILABLE."""

    actions = frozenset({"table.backup"})

    def preflight(self, call: ActionCall) -> list[str]:
        return table_problems(self, self.target.table)

    def plan(self, call: ActionCall) -> list[str]:
        table = self.target.table
        return [
            "remediate: "
            + api("dynamodb", "CreateBackup", TableName=table, BackupName=f"{table}-backup-<UTC YYYYMMDD-HHMMSS>"),
            "remediate: " + api("dynamodb", "DescribeBackup", BackupArn="<backup>") + "  (until AVAILABLE)",
        ]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        table = self.target.table
        name = f"{table}-backup-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        arn = self.ctx.call("dynamodb", "create_backup", TableName=table, BackupName=name)["BackupDetails"]["BackupArn"]

        def available() -> dict[str, Any] | None:
            details = self.ctx.call("dynamodb", "describe_backup", BackupArn=arn)["BackupDescription"]["BackupDetails"]
            if details["BackupStatus"] == "DELETED":
                raise ProviderError(f"backup {name} was deleted while being created")
            return details if details["BackupStatus"] == "AVAILABLE" else None

        details = self.ctx.poll.until(available, f"backup {name} to become AVAILABLE")
        return {"backup_name": name, "backup_arn": arn, "created_at": _iso(details.get("BackupCreationDateTime"))}


def table_problems(handler: ActionHandler, table: str, region: str | None = None) -> list[str]:
    ctx = handler.ctx
    region = region or ctx.target.region

    def check() -> list[str]:
        found = ctx.clients.call(
            "dynamodb", "describe_table", region, TableName=table, ignore=("ResourceNotFoundException",)
        )
        if found is None:
            return [f"DynamoDB table {table} does not exist in {region}"]
        return []

    return guarded(check, f"checking table {table} in {region}")


class RestoreRemediation(ActionHandler):
    actions = frozenset({"table.restore"})

    def _params(self, call: ActionCall) -> RestoreTable:
        params = call.typed_params()
        assert isinstance(params, RestoreTable)
        return params

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
            *restore,
            api("dynamodb", "DescribeTable", TableName=target) + "  (until ACTIVE)",
            api(
                "dynamodb",
                "UpdateContinuousBackups",
                TableName=target,
                PointInTimeRecoverySpecification="<as on source>",
            ),
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
                    f"hanbit-drill repoint {var}={target}",
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
        return ["remediate: " + line for line in lines]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        params, table = self._params(call), self.target.table
        source = self.ctx.call("dynamodb", "describe_table", TableName=table)["Table"]
        ttl = self.ctx.call("dynamodb", "describe_time_to_live", TableName=table).get("TimeToLiveDescription", {})
        tags = self.ctx.call("dynamodb", "list_tags_of_resource", ResourceArn=source["TableArn"]).get("Tags", [])
        pitr = self.ctx.call("dynamodb", "describe_continuous_backups", TableName=table)[
            "ContinuousBackupsDescription"
        ].get("PointInTimeRecoveryDescription", {})
        detail: dict[str, JsonValue] = {
            "source": params.source,
            "source_table": table,
            "restored_table": params.target_table,
        }
        detail.update(self._restore(params, context, pitr))
        self._wait_active(params.target_table)
        detail["reapplied"] = self._reapply(params.target_table, source, ttl, tags, pitr)
        if params.repoint:
            detail.update(self._repoint(params.target_table))
        return detail

    def _restore(self, params: RestoreTable, context: RemediationContext, pitr: dict[str, Any]) -> dict[str, JsonValue]:
        table, target = self.target.table, params.target_table
        if params.source == "pitr":
            if context.fault_at is None:
                raise ProviderError("table.restore from PITR needs the time of the fault, and no fault was injected")
            if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
                raise ProviderError(f"point-in-time recovery is not enabled on table {table}")
            at = _utc(context.fault_at - params.before_fault_s)
            earliest = pitr.get("EarliestRestorableDateTime")
            if isinstance(earliest, datetime) and at < earliest:
                raise ProviderError(
                    f"restore point {at.isoformat()} is before the earliest restorable time {_iso(earliest)} of {table}"
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
            when = "" if context.fault_at is None else f" made before the fault ({_utc(context.fault_at).isoformat()})"
            raise ProviderError(f"table {table} has no AVAILABLE backup{when}")
        backup = backups[-1]
        self.ctx.call("dynamodb", "restore_table_from_backup", TargetTableName=target, BackupArn=backup["BackupArn"])
        return {
            "backup_arn": backup["BackupArn"],
            "backup_name": backup.get("BackupName", ""),
            "restore_point": _iso(backup["BackupCreationDateTime"]),
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
            out = [b for b in out if b["BackupCreationDateTime"] <= _utc(before)]
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
    ) -> list[JsonValue]:
        done: list[JsonValue] = []
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            self.ctx.call(
                "dynamodb",
                "update_continuous_backups",
                TableName=target,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            done.append("pitr")
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            self.ctx.call(
                "dynamodb",
                "update_time_to_live",
                TableName=target,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
            done.append(f"ttl:{ttl['AttributeName']}")
        if tags:
            arn = self.ctx.call("dynamodb", "describe_table", TableName=target)["Table"]["TableArn"]
            self.ctx.call("dynamodb", "tag_resource", ResourceArn=arn, Tags=tags)
            done.append(f"tags:{len(tags)}")
        stream = source.get("StreamSpecification") or {}
        if stream.get("StreamEnabled"):
            self.ctx.call(
                "dynamodb",
                "update_table",
                TableName=target,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]},
            )
            done.append(f"stream:{stream['StreamViewType']}")
            self._wait_active(target)
        return done

    def _repoint(self, target: str) -> dict[str, JsonValue]:
        fn, var = LambdaFunction(self.ctx), self.ctx.settings.table_name_variable
        previous = fn.get_alias().version
        version = fn.publish_variant(
            FunctionChanges(env={var: target}), f"hanbit-drill repoint {var}={target}", keep_latest=True
        )
        fn.update_alias(version)
        return {"repointed": f"{var}={target}", "from_version": previous, "to_version": version}
