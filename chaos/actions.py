"""The provider-neutral vocabulary of faults and remediations.

A scenario names actions from this catalog; each provider declares which of
them it can perform. Parameters are validated here, without any I/O, so that
`hanbit-drill validate` can reject a bad scenario before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class ActionKind(StrEnum):
    FAULT = "fault"  # changes the system for the worse; always reverted at the end
    REMEDIATION = "remediation"  # a runbook step; not reverted


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(_Params):
    pass


# ---- faults -------------------------------------------------------------------------------


class Percentage(_Params):
    percentage: float = Field(100.0, gt=0, le=100, description="share of invocations affected")


class AddLatency(Percentage):
    latency_ms: int = Field(..., gt=0, le=900_000)


class HttpStatus(Percentage):
    status_code: int = Field(..., ge=400, le=599)


class SlowInvocations(Percentage):
    """Invocations run this much longer; past the function timeout they fail with 504."""

    duration_ms: int = Field(..., gt=0, le=900_000)


class ReservedConcurrency(_Params):
    limit: int = Field(..., ge=0)


class CorruptTable(_Params):
    fraction: float = Field(..., gt=0, le=1, description="share of the drill's own items altered")
    modes: list[Literal["garble", "drop-attribute", "delete"]] = Field(
        default_factory=lambda: ["garble", "drop-attribute", "delete"], min_length=1
    )
    # The drill's own items are those its load created: their client ids begin with the run's prefix.
    # The engine fills this in once the load runs (a scenario file leaves it out).
    id_prefix: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,63}$", description="only items whose id begins with this (the drill's load)"
    )


class ThrottleTable(_Params):
    read_capacity: int | None = Field(None, ge=0, description="reads per second before throttling")
    write_capacity: int | None = Field(None, ge=0, description="writes per second before throttling")


class RegionOutage(_Params):
    region: str = "ap-northeast-2"
    mode: Literal["refuse", "blackhole"] = "refuse"


# ---- remediations -------------------------------------------------------------------------


class Rollback(_Params):
    alias: str = "LIVE"
    to_version: str | None = Field(None, description="default: the version LIVE had before the fault")


class UpdateFunctionConfig(_Params):
    timeout_s: float | None = Field(None, gt=0, le=900)
    memory_mb: int | None = Field(None, ge=128, le=10240)


class RestoreTable(_Params):
    source: Literal["pitr", "backup"] = "pitr"
    target_table: str = "todos-restored"
    before_fault_s: float = Field(1.0, ge=0, description="PITR: restore to this long before the fault")
    repoint: bool = True


class Failover(_Params):
    to_region: str = "ap-northeast-1"


class Failback(_Params):
    to_region: str = "ap-northeast-2"


class RevertFault(_Params):
    """Undo a fault of this drill early, as the runbook's own fix (e.g. lift throttling)."""

    fault: str = Field(..., description="id of the fault in the scenario's `faults` list")


@dataclass(frozen=True)
class ActionSpec:
    name: str
    kind: ActionKind
    params: type[_Params]
    summary: str


CATALOG: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in [
        ActionSpec("lambda.deploy-bad-version", ActionKind.FAULT, NoParams,
                   "publish a version whose handler raises and point alias LIVE at it"),
        ActionSpec("lambda.invocation-error", ActionKind.FAULT, Percentage,
                   "a share of invocations raise an exception (FIS aws:lambda:invocation-error)"),
        ActionSpec("lambda.add-latency", ActionKind.FAULT, AddLatency,
                   "a share of invocations start late (FIS aws:lambda:invocation-add-delay)"),
        ActionSpec("lambda.http-status", ActionKind.FAULT, HttpStatus,
                   "a share of invocations answer a fixed status (FIS aws:lambda:invocation-http-integration-response)"),
        ActionSpec("lambda.slow-invocations", ActionKind.FAULT, SlowInvocations,
                   "a share of invocations run longer; past the timeout they fail (504)"),
        ActionSpec("lambda.reserved-concurrency", ActionKind.FAULT, ReservedConcurrency,
                   "set reserved concurrency; 0 stops all invocations (429)"),
        ActionSpec("table.corrupt", ActionKind.FAULT, CorruptTable,
                   "a bad migration alters a share of the drill's items in table todos"),
        ActionSpec("table.throttle", ActionKind.FAULT, ThrottleTable,
                   "limit read/write capacity; excess requests fail ProvisionedThroughputExceeded"),
        ActionSpec("region.outage", ActionKind.FAULT, RegionOutage,
                   "a region stops answering (connections refused or black-holed)"),
        ActionSpec("region.pause-replication", ActionKind.FAULT, NoParams,
                   "stop replication between the regions"),
        ActionSpec("auth.expire-tokens", ActionKind.FAULT, NoParams,
                   "every token issued so far is rejected (401 storm); clients must sign in again"),
        ActionSpec("lambda.rollback", ActionKind.REMEDIATION, Rollback,
                   "update-alias LIVE --function-version $PREVIOUS_VERSION"),
        ActionSpec("lambda.delete-concurrency", ActionKind.REMEDIATION, NoParams,
                   "delete the reserved concurrency limit"),
        ActionSpec("lambda.update-config", ActionKind.REMEDIATION, UpdateFunctionConfig,
                   "raise the function timeout / memory (manual: 512 MB, 30 s)"),
        ActionSpec("table.backup", ActionKind.REMEDIATION, NoParams,
                   "create-backup todos-backup-YYYYMMDD-HHMMSS"),
        ActionSpec("table.restore", ActionKind.REMEDIATION, RestoreTable,
                   "restore todos (PITR or latest backup) into a new table and repoint TABLE_NAME"),
        ActionSpec("region.failover", ActionKind.REMEDIATION, Failover,
                   "route traffic to the secondary region"),
        ActionSpec("region.failback", ActionKind.REMEDIATION, Failback,
                   "route traffic back to the primary once it is healthy"),
        ActionSpec("revert-fault", ActionKind.REMEDIATION, RevertFault,
                   "undo one of this drill's faults now (engine-level, every provider)"),
    ]
}

# Remediations the engine performs itself, whatever the provider.
ENGINE_ACTIONS = frozenset({"revert-fault"})


class ActionCall(BaseModel):
    """One action with validated parameters, as handed to a provider."""

    model_config = ConfigDict(frozen=True)

    name: str
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def spec(self) -> ActionSpec:
        return CATALOG[self.name]

    def typed_params(self) -> _Params:
        return self.spec.params.model_validate(self.params)
