"""Settings of one service instance (one "region"), and where it keeps its files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.store.base import StoreKind, validate_table_name

HOST = "127.0.0.1"  # the bundled service never listens beyond loopback
ENV_VAR = "HANBIT_SERVICE_SETTINGS"
DEFAULT_DATA_DIR = Path(".hanbit/data")


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(DEFAULT_DATA_DIR, validate_default=True)
    port: int = Field(8080, ge=0, le=65535, description="0 = pick a free port")
    workers: int = Field(2, ge=1, le=16)
    region: str = Field("ap-northeast-2", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    store: StoreKind = StoreKind.SQLITE
    table_name: str = "todos"
    function_version: str = "1"
    function_timeout_s: float = Field(10.0, gt=0, le=900)
    function_memory_mb: int = Field(256, ge=128, le=10240)
    token_ttl_s: int = Field(3600, ge=1, le=7 * 86400)
    issuer: str = "hanbit-drill"
    password_cost_log2: int = Field(14, ge=10, le=20, description="scrypt N = 2**this")
    signin_max_failures: int = Field(10, ge=1)
    signin_window_s: float = Field(60.0, gt=0)
    signin_lockout_s: float = Field(60.0, gt=0)
    keep_alive_s: int = Field(75, ge=1, description="idle keep-alive connections are closed after this")
    dynamodb_endpoint_url: str | None = None
    tls_cert: Path | None = Field(None, description="PEM certificate (chain): the public listener serves HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of `tls_cert`")

    @field_validator("data_dir", "tls_cert", "tls_key")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Worker and region processes get these settings through the environment: a relative path
        # would mean whatever their working directory is.
        return None if value is None else Path(os.path.abspath(os.path.expanduser(value)))

    @model_validator(mode="after")
    def _cert_and_key(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key (--tls-cert, --tls-key) go together: HTTPS needs both")
        return self

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    @field_validator("table_name")
    @classmethod
    def _table(cls, value: str) -> str:
        return validate_table_name(value)

    # ---- files in the data directory ------------------------------------------------------

    @property
    def todos_db(self) -> Path:
        return self.data_dir / "todos.db"

    @property
    def users_db(self) -> Path:
        return self.data_dir / "users.db"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "signing.key"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "todo-api.log"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def ready_file(self) -> Path:
        """Written once every worker serves: url, pid, port, workers (see service.server.ReadyInfo)."""
        return self.run_dir / "service.json"

    @property
    def workers_dir(self) -> Path:
        return self.run_dir / "workers"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / "metrics"

    # ---- passing settings to worker processes ---------------------------------------------

    def to_env(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServiceSettings:
        raw = os.environ.get(ENV_VAR)
        return cls.model_validate_json(raw) if raw else cls()
