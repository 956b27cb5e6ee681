"""What load to drive: the `load:` block of a scenario, and the arguments of `hanbit-drill load`.

Shared contract between the scenario files (`scenarios`) and the runner (`loadtests`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LoadModel(StrEnum):
    OPEN = "open"  # fixed arrival rate, latency measured from the intended send time
    CLOSED = "closed"  # a population of users with think time


class ShapeKind(StrEnum):
    CONSTANT = "constant"
    RAMP = "ramp"  # linear from `start_fraction` of the rate/users to all of it over `ramp_s`
    STEP = "step"  # `steps` equal increments, each held `step_s`
    SPIKE = "spike"  # base load, `spike_factor` times it from `spike_at_s` for `spike_s`


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ShapeKind = ShapeKind.CONSTANT
    start_fraction: float = Field(0.1, ge=0, le=1, description="ramp: share of the load at t=0")
    ramp_s: float = Field(10.0, gt=0, description="ramp: seconds to reach full load")
    steps: int = Field(4, ge=1, description="step: number of equal increments")
    step_s: float = Field(10.0, gt=0, description="step: seconds each step is held")
    spike_factor: float = Field(3.0, gt=1, description="spike: multiple of the base load during the spike")
    spike_at_s: float = Field(10.0, ge=0, description="spike: seconds after start the spike begins")
    spike_s: float = Field(5.0, gt=0, description="spike: seconds the spike lasts")


class Weights(BaseModel):
    """Relative weights of the todo journeys' requests."""

    model_config = ConfigDict(extra="forbid")

    create: float = Field(10, ge=0)
    list: float = Field(20, ge=0)
    get: float = Field(55, ge=0)
    update: float = Field(10, ge=0, description="update the title or complete the todo")
    delete: float = Field(5, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> Self:
        if self.create + self.list + self.get + self.update + self.delete <= 0:
            raise ValueError("at least one journey weight must be positive")
        return self


class BundledAuth(BaseModel):
    """Accounts sign up and in through the API's own endpoints (`/auth/signup`, `/auth/token`): the bundled service."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["bundled"] = "bundled"


# What AWS allows for a user pool id: `<region>_<id>`; the region part is where the pool lives.
USER_POOL_ID = r"^[\w-]+_[0-9a-zA-Z]+$"


def region_of_pool(user_pool_id: str) -> str:
    """The region a user pool id names (`ap-northeast-2_AbC123` -> `ap-northeast-2`)."""
    return user_pool_id.split("_", 1)[0]


class CognitoAuth(BaseModel):
    """Accounts live in a Cognito user pool and sign in through one of its app clients (the pool an API
    Gateway Cognito authorizer trusts). The harness creates them with the Cognito admin API; the load sends
    the token the authorizer validates and refreshes it before it expires (loadtests.signin)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["cognito"] = "cognito"
    user_pool_id: str = Field(pattern=USER_POOL_ID)
    client_id: str = Field(min_length=1, max_length=128, pattern=r"^[\w+]+$")
    region: str | None = Field(
        None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", description="the pool's region; default the one its id begins with"
    )
    token: Literal["id", "access"] = Field(
        "id",
        description="the token sent as the bearer token: a REST API's Cognito authorizer validates the ID token "
        "unless its methods name OAuth scopes (then the access token)",
    )
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="another cognito-idp endpoint (a FIPS endpoint, a local emulator); default AWS's regional one"
    )
    username_prefix: str = Field(
        "hanbit-drill-",
        min_length=3,
        pattern=r"^[\w.+=@-]+$",
        description="the pool's accounts the drill owns: it creates, reuses and removes only these",
    )

    @property
    def pool_region(self) -> str:
        return self.region or region_of_pool(self.user_pool_id)

    @property
    def idp_url(self) -> str:
        """Where InitiateAuth is sent (JSON 1.1; it needs no signature)."""
        return self.endpoint_url or f"https://cognito-idp.{self.pool_region}.amazonaws.com/"

    @model_validator(mode="after")
    def _pool_in_region(self) -> Self:
        # A pool id names its region: a different `region` could only ever answer "no such pool".
        if self.region is not None and region_of_pool(self.user_pool_id) != self.region:
            raise ValueError(f"user pool {self.user_pool_id} is in {region_of_pool(self.user_pool_id)}, not {self.region}")
        return self


LoadAuth = Annotated[BundledAuth | CognitoAuth, Field(discriminator="kind")]


class LoadPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: LoadModel = LoadModel.OPEN
    rps: float | None = Field(None, gt=0, description="open model: arrivals per second")
    users: int | None = Field(None, gt=0, description="closed model: concurrent users")
    think_time_s: float = Field(
        1.0,
        ge=0,
        description="closed model: time between the starts of a user's requests, each user on its own "
        "random phase, never two at once; the planned rate is users / think_time_s",
    )
    shape: Shape = Field(default_factory=Shape)
    duration_s: float = Field(60.0, gt=0, description="how long the load runs unless stopped earlier")
    weights: Weights = Field(default_factory=Weights)
    workers: int = Field(1, ge=1, le=64, description="Locust worker processes on this machine")
    accounts: int = Field(50, ge=1, description="pre-created test accounts shared by the simulated users")
    signin_storm: bool = Field(False, description="every simulated user signs in itself (a load test of auth)")
    request_timeout_s: float = Field(5.0, gt=0, description="deadline of a request, counted from its intended send time")
    connections: int = Field(
        256,
        ge=1,
        le=10_000,
        description="HTTP keep-alive connections per worker, shared by its simulated users: the most "
        "requests one worker has in flight; more wait for a connection, on their own deadline",
    )
    ca_bundle: str | None = Field(
        None,
        description="https targets: a PEM file of the CAs to trust instead of the system's (a private or "
        "test CA); certificates are always verified",
    )
    auth: LoadAuth | None = Field(
        None,
        description="how the accounts sign in; None: as the target says (the Cognito pool of an aws target's "
        "`cognito:`, else the API's own /auth endpoints)",
    )

    @model_validator(mode="after")
    def _rate_or_users(self) -> Self:
        if self.model is LoadModel.OPEN and self.rps is None:
            raise ValueError("the open model needs `rps`")
        if self.model is LoadModel.CLOSED and self.users is None:
            raise ValueError("the closed model needs `users`")
        return self
