"""The runbook's on-demand backup (`table.backup`: todos-backup-YYYYMMDD-HHMMSS), and the table checks the
table handlers share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall
from chaos.aws.checks import guarded
from chaos.aws.context import ActionHandler, NamedCall, api
from chaos.provider import RemediationContext
from common.errors import ProviderError


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def iso(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else str(value)


def backup_name(table: str, at: datetime) -> str:
    """The runbook's on-demand backup name: todos-backup-YYYYMMDD-HHMMSS (UTC)."""
    return f"{table}-backup-{at:%Y%m%d-%H%M%S}"


class BackupRemediation(ActionHandler):
    """create-backup todos-backup-YYYYMMDD-HHMMSS, waiting until it is AVAILABLE."""

    actions = frozenset({"table.backup"})

    def preflight(self, call: ActionCall) -> list[str]:
        return table_problems(self, self.target.table)

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        name = backup_name(self.target.table, datetime(2025, 12, 31, 23, 59, 59))
        return [
            *super().named_calls(call),
            ("dynamodb:CreateBackup", {"TableName": self.target.table, "BackupName": name}),
        ]

    def plan(self, call: ActionCall) -> list[str]:
        table = self.target.table
        return [
            "remediate: "
            + api("dynamodb", "CreateBackup", TableName=table, BackupName=f"{table}-backup-<UTC YYYYMMDD-HHMMSS>"),
            "remediate: " + api("dynamodb", "DescribeBackup", BackupArn="<backup>") + "  (until AVAILABLE)",
        ]

    def remediate(self, call: ActionCall, context: RemediationContext) -> dict[str, JsonValue]:
        table = self.target.table
        name = backup_name(table, datetime.now(UTC))
        arn = self.ctx.call("dynamodb", "create_backup", TableName=table, BackupName=name)["BackupDetails"]["BackupArn"]

        def available() -> dict[str, Any] | None:
            details = self.ctx.call("dynamodb", "describe_backup", BackupArn=arn)["BackupDescription"]["BackupDetails"]
            if details["BackupStatus"] == "DELETED":
                raise ProviderError(f"backup {name} was deleted while being created")
            return details if details["BackupStatus"] == "AVAILABLE" else None

        details = self.ctx.poll.until(available, f"backup {name} to become AVAILABLE")
        return {"backup_name": name, "backup_arn": arn, "created_at": iso(details.get("BackupCreationDateTime"))}


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
