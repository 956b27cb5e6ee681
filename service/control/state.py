"""The control state of a bundled service: what every worker must agree on.

One `ControlState` describes the whole deployment: per region the function `todo-api`
(published versions, alias LIVE, reserved concurrency, injected faults), its tables'
throttling, and whether the region is up; the edge's routing; replication; the auth
not-before. The supervisor is its only writer (`StateStore`); workers follow it
(`StateWatcher`). Only the control plane's own answers are computed from it, never
what a client sees: that comes from the running system the state configures.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.store.base import validate_table_name

PRIMARY = "ap-northeast-2"
SECONDARY = "ap-northeast-1"
ALIAS = "LIVE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CodeRelease(StrEnum):
    CURRENT = "current"  # the service's own handler code
    BROKEN = "broken"  # a release with a genuine bug (service.control.broken_release)


class FunctionSettings(_Model):
    """What a version carries besides its code (Lambda's function configuration)."""

    timeout_s: float = Field(10.0, gt=0, le=900)
    memory_mb: int = Field(256, ge=128, le=10240)
    table_name: str = "todos"

    @field_validator("table_name")
    @classmethod
    def _table(cls, value: str) -> str:
        return validate_table_name(value)


class FunctionVersion(_Model):
    version: str
    code: CodeRelease
    config: FunctionSettings
    description: str = ""
    created_at: float


class FaultKind(StrEnum):
    LATENCY = "latency"
    EXCEPTION = "exception"
    STATUS = "status"
    TIMEOUT = "timeout"


class _Fault(_Model):
    percentage: float = Field(100.0, gt=0, le=100)


class LatencyFault(_Fault):
    """Invocations start this much later (FIS aws:lambda:invocation-add-delay)."""

    latency_ms: int = Field(..., gt=0, le=900_000)


class ExceptionFault(_Fault):
    """Invocations raise before the handler runs (failure-lambda `exception`)."""


class StatusFault(_Fault):
    """Invocations answer this status without running the handler (FIS http-integration-response)."""

    status_code: int = Field(..., ge=400, le=599)


class TimeoutFault(_Fault):
    """Invocations run this much longer; past the function timeout they fail with 504."""

    duration_ms: int = Field(..., gt=0, le=900_000)


FAULT_MODELS: dict[FaultKind, type[_Fault]] = {
    FaultKind.LATENCY: LatencyFault,
    FaultKind.EXCEPTION: ExceptionFault,
    FaultKind.STATUS: StatusFault,
    FaultKind.TIMEOUT: TimeoutFault,
}


class FunctionFaults(_Model):
    latency: LatencyFault | None = None
    exception: ExceptionFault | None = None
    status: StatusFault | None = None
    timeout: TimeoutFault | None = None

    def active(self) -> dict[str, dict[str, float | int]]:
        """Only the injected kinds, as the control API shows them (empty = none)."""
        return {kind: fault.model_dump() for kind, fault in self if fault is not None}


class FunctionState(_Model):
    name: str = "todo-api"
    versions: list[FunctionVersion]
    aliases: dict[str, str]
    latest: FunctionSettings = Field(default_factory=FunctionSettings)  # $LATEST: copied on publish
    reserved: int | None = Field(None, ge=0)
    faults: FunctionFaults = Field(default_factory=FunctionFaults)

    def version(self, number: str) -> FunctionVersion | None:
        for v in self.versions:
            if v.version == number:
                return v
        return None

    def live(self) -> FunctionVersion:
        found = self.version(self.aliases[ALIAS])
        if found is None:  # guarded by every writer; a hand-edited file would land here
            raise ValueError(f"alias {ALIAS} points at missing version {self.aliases[ALIAS]}")
        return found


class TableThrottle(_Model):
    """Capacity units per second, across every worker of the region; None = unlimited."""

    read_capacity: int | None = Field(None, ge=0)
    write_capacity: int | None = Field(None, ge=0)


class TableState(_Model):
    throttles: dict[str, TableThrottle] = Field(default_factory=dict)  # table name -> limits


class RegionStatus(StrEnum):
    UP = "up"
    REFUSE = "refuse"  # its servers are stopped: connections refused
    BLACKHOLE = "blackhole"  # its servers are frozen: connections accepted, never answered


class RegionState(_Model):
    name: str
    role: Literal["primary", "secondary"]
    status: RegionStatus = RegionStatus.UP
    port: int | None = None  # where the region's own servers listen
    function: FunctionState
    table: TableState = Field(default_factory=TableState)


class EdgeState(_Model):
    """Route 53 failover records in front of the regions."""

    active: str | None = None  # manual override; None = automatic (health-checked) failover
    serving: str  # where new connections go now
    interval_s: float = Field(1.0, gt=0, le=300)
    failure_threshold: int = Field(3, ge=1, le=10)
    healthy: dict[str, bool] = Field(default_factory=dict)  # health check verdict per region


class ReplicationState(_Model):
    paused: bool = False


class AuthState(_Model):
    not_before: float | None = None  # epoch s: tokens issued earlier get 401


class ControlState(_Model):
    generation: int = 0
    updated_at: float = Field(default_factory=time.time)
    primary: str = PRIMARY
    regions: dict[str, RegionState]
    edge: EdgeState
    replication: ReplicationState = Field(default_factory=ReplicationState)
    auth: AuthState = Field(default_factory=AuthState)

    def region(self, name: str | None) -> RegionState | None:
        return self.regions.get(name or self.primary)

    def failover_target(self) -> str:
        """Where Route 53 failover records send traffic: the primary while its health check passes,
        else the first healthy secondary; with none healthy, the primary (as Route 53 does)."""
        if self.edge.healthy.get(self.primary, False):
            return self.primary
        for name in self.regions:
            if name != self.primary and self.edge.healthy.get(name, False):
                return name
        return self.primary


def initial_function(settings: FunctionSettings, created_at: float | None = None) -> FunctionState:
    """Version 1 of the current code, LIVE pointing at it."""
    first = FunctionVersion(version="1", code=CodeRelease.CURRENT, config=settings,
                            description="initial deploy", created_at=created_at or time.time())
    return FunctionState(versions=[first], aliases={ALIAS: "1"}, latest=settings)


def initial_state(region_names: list[str], settings: FunctionSettings | None = None,
                  *, interval_s: float = 1.0, failure_threshold: int = 3) -> ControlState:
    """A fresh deployment: the first region is the primary, every region up and serving version 1."""
    if not region_names:
        raise ValueError("at least one region")
    if len(set(region_names)) != len(region_names):
        raise ValueError(f"duplicate region names: {region_names}")
    settings = settings or FunctionSettings()
    now = time.time()
    regions = {
        name: RegionState(name=name, role="primary" if i == 0 else "secondary",
                          function=initial_function(settings, now))
        for i, name in enumerate(region_names)
    }
    edge = EdgeState(serving=region_names[0], interval_s=interval_s, failure_threshold=failure_threshold,
                     healthy={name: True for name in region_names})
    return ControlState(primary=region_names[0], regions=regions, edge=edge)
