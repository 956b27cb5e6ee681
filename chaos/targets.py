"""Target settings: where a drill runs. Validated without I/O; preflight checks reachability."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Actions whose drill is about failing over: their load must take the clients' path (see AwsTarget.load_url).
REGION_ACTIONS = frozenset({"region.outage", "region.failover", "region.failback"})


class CognitoPool(BaseModel):
    """The Cognito user pool and app client the API's authorizer trusts: the load's accounts live there
    (created by the harness with its prefix, reused across runs, removed by cleanup)."""

    model_config = ConfigDict(extra="forbid")

    user_pool_id: str = Field(pattern=r"^[\w-]+_[0-9a-zA-Z]+$", description="`<region>_<id>`")
    client_id: str = Field(
        pattern=r"^[\w+]+$", max_length=128, description="an app client without a secret that allows USER_PASSWORD_AUTH"
    )
    region: str | None = Field(None, description="the pool's region; default the one its id begins with")
    token: Literal["id", "access"] = Field(
        "id", description="the bearer token: `id` for a REST Cognito authorizer, `access` when its methods name scopes"
    )
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="another cognito-idp endpoint (a FIPS one, an emulator)"
    )

    @model_validator(mode="after")
    def _pool_in_region(self) -> Self:
        named = self.user_pool_id.split("_", 1)[0]
        if self.region is not None and self.region != named:
            raise ValueError(f"user pool {self.user_pool_id} is in {named}, not {self.region}")
        return self


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The profile `run` and `plan` use when none is given (cli_options.chosen_profile).
    default_profile: ClassVar[str] = "smoke"

    @property
    def least_time_scale(self) -> float:
        """The smallest profile time_scale a drill may run with here (0: any)."""
        return 0.0

    def load_url(self, actions: Collection[str]) -> str | None:
        """Where a drill performing `actions` sends its load (None: the session's URL)."""
        return None

    def timing_warnings(self, actions: Collection[str], waits: Mapping[str, float | None]) -> list[str]:
        """Documented delays of the target's platform longer than the scaled waits they compete with."""
        return []

    @property
    def user_pool(self) -> CognitoPool | None:
        """The Cognito pool the load's accounts sign in with (None: the API's own /auth endpoints)."""
        return None

    @property
    def detection_alarms(self) -> list[str]:
        """The target's own alarms that page the on-call (empty: the drill's alarm model judges detection)."""
        return []

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

    # AWS does not shrink: the FIS extension, Route 53 and PITR need minutes (chaos/aws/timing.py).
    default_profile: ClassVar[str] = "staging"

    kind: Literal["aws"] = "aws"
    api_url: str = Field(description="the primary region's API Gateway stage URL")
    failover_url: str | None = Field(
        None,
        description="the name clients use (Route 53 failover record or custom domain): region drills send "
        "their load there, so a failover reaches it",
    )
    secondary_api_url: str | None = Field(None, description="the secondary region's API Gateway stage URL")
    region: str = "ap-northeast-2"
    secondary_region: str | None = "ap-northeast-1"
    function: str = "todo-api"
    alias: str = "LIVE"
    table: str = "todos"
    item_id_attribute: str = Field(
        "todoId",
        description="the table's attribute holding the client-chosen todo id (the sort key): table.corrupt "
        "selects the drill's own items by the id prefix of its load",
    )
    use_fis: bool = True
    fis_role_arn: str | None = None
    stop_alarm_arns: list[str] = Field(
        default_factory=list,
        description="guard alarms: FIS ends a fault when one goes to ALARM (never the detection alarms)",
    )
    alarm_names: list[str] = Field(
        default_factory=list, description="the detection alarms (the manual's error-rate and latency alarms)"
    )
    health_check_id: str | None = Field(None, description="Route 53 health check of the primary (failover)")
    routing_control_arn: str | None = Field(None, description="ARC routing control of the primary (failover)")
    min_time_scale: float = Field(
        1.0, gt=0, le=10, description="the least profile time_scale `run` accepts here (AWS does not shrink)"
    )
    cognito: CognitoPool | None = Field(None, description="the user pool the API's Cognito authorizer trusts")
    # No longer read: nothing wrote the attribute, so table.corrupt found nothing to corrupt; it now selects
    # the items by the id prefix of the drill's load. Accepted (and never written) so that a journal of an
    # earlier run still rebuilds its provider in `hanbit-drill cleanup`.
    drill_tag: str | None = Field(None, exclude=True, description="ignored (see item_id_attribute)")

    @model_validator(mode="after")
    def _guards_are_not_detectors(self) -> Self:
        # A detection alarm as a FIS stop condition ends the fault at the moment of detection: the drill
        # would "recover" without the runbook step, and measure nothing.
        clash = [arn for arn in self.stop_alarm_arns for name in self.alarm_names if arn.endswith(f":alarm:{name}")]
        if clash:
            raise ValueError(
                f"stop_alarm_arns {clash} name detection alarms (alarm_names): FIS would end the fault the moment "
                f"the drill detects it, so recovery would come without the runbook step. Stop conditions are "
                f"guard alarms (e.g. errors far beyond the drill's blast radius, another service's SLO)"
            )
        return self

    @property
    def endpoint(self) -> str | None:
        return self.api_url

    @property
    def user_pool(self) -> CognitoPool | None:
        return self.cognito

    @property
    def detection_alarms(self) -> list[str]:
        return list(self.alarm_names)

    @property
    def least_time_scale(self) -> float:
        return self.min_time_scale

    @property
    def regional_urls(self) -> dict[str, str]:
        """Each region's own endpoint, as far as the target names them."""
        urls = {self.region: self.api_url}
        if self.secondary_region and self.secondary_api_url:
            urls[self.secondary_region] = self.secondary_api_url
        return urls

    def load_url(self, actions: Collection[str]) -> str | None:
        # A region drill is about the clients' path: only the failover name can move to the other region.
        if self.failover_url and REGION_ACTIONS & set(actions):
            return self.failover_url
        return None

    def timing_warnings(self, actions: Collection[str], waits: Mapping[str, float | None]) -> list[str]:
        from chaos.aws.timing import timing_warnings  # pure data; keeps the target models free of chaos.aws

        return timing_warnings(actions, waits)


# Every kind of target, for annotations; the scenario file's union is built from the registry
# of target kinds (scenarios.target_kinds).
Target = BundledTarget | AwsTarget
