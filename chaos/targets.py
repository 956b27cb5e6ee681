"""Target settings: where a drill runs. Validated without I/O; preflight checks reachability."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protected: bool = Field(False, description="refuse to run without --allow-protected")
    ca_bundle: str | None = Field(
        None,
        description="an https endpoint's private CA: a PEM file of the CAs to trust instead of the system's "
        "(relative to the scenario file); certificates are always verified",
    )


class BundledTarget(_Target):
    """The bundled todo service. Without `url` the harness starts it (temp dir, free ports) and stops it after."""

    kind: Literal["bundled"] = "bundled"
    url: str | None = Field(None, description="public URL of an already running `hanbit-drill serve`")
    data_dir: str | None = Field(None, description="its data directory (holds the admin token)")
    regions: int = Field(2, ge=1, le=2)
    workers: int = Field(2, ge=1, le=16)

    @property
    def endpoint(self) -> str | None:
        """The API's URL, when known before the run (None: the harness starts the service)."""
        return self.url


class AwsTarget(_Target):
    """A real stack (staging). Credentials come from the environment, never from the file."""

    kind: Literal["aws"] = "aws"
    api_url: str
    region: str = "ap-northeast-2"
    secondary_region: str | None = "ap-northeast-1"
    function: str = "todo-api"
    alias: str = "LIVE"
    table: str = "todos"
    use_fis: bool = True
    fis_role_arn: str | None = None
    stop_alarm_arns: list[str] = Field(default_factory=list)
    health_check_id: str | None = Field(None, description="Route 53 health check of the primary (failover)")
    routing_control_arn: str | None = Field(None, description="ARC routing control of the primary (failover)")
    drill_tag: str = Field("hanbit-drill", description="attribute marking items the drill created")

    @property
    def endpoint(self) -> str | None:
        return self.api_url


# Every kind of target, for annotations; the scenario file's union is built from the registry
# of target kinds (scenarios.target_kinds).
Target = BundledTarget | AwsTarget
