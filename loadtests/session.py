"""What the Locust processes of one run share: the plan, the target and the signed-in account pool.

The caller writes it as JSON into the run directory; the master reads it and hands it to every worker
(local or on another machine) inside Locust's spawn message, so remote workers need no shared disk.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from loadtests.plan import LoadPlan

SESSION_FILE = "load-session.json"
STREAM_FILE = "seconds.jsonl"
LEDGER_GLOB = "ledger-*.jsonl"
# Local workers write the ledger straight into the run directory named by this variable; a worker
# without it (another machine) forwards its ledger records to the master, which writes them.
RUN_DIR_ENV = "HANBIT_LOAD_RUN_DIR"


class Account(BaseModel):
    """A pre-created test account of the pool."""

    model_config = ConfigDict(extra="forbid")

    username: str
    password: str


class SignedInAccount(Account):
    token: str | None = Field(None, description="bearer token from signing in once; None: sign in lazily")
    refresh_token: str | None = Field(None, description="renews `token` without the password (Cognito)")
    issued_at: float | None = Field(None, description="epoch seconds the token was received")
    lifetime_s: float | None = Field(None, description="how long the token is valid from `issued_at`; None: unknown")


class LoadSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(description="short tag that makes this run's todo ids and usernames unique")
    target_url: str
    plan: LoadPlan
    accounts: list[SignedInAccount]
    ca_pem: str | None = Field(
        None, description="the plan's CA bundle, its PEM text: workers on other machines have no access to the file"
    )

    def write(self, run_dir: Path) -> Path:
        path = run_dir / SESSION_FILE
        tmp = path.with_suffix(".tmp")
        # Passwords and refresh tokens: readable by the harness's user only (LoadRunner removes it once read).
        tmp.unlink(missing_ok=True)
        tmp.touch(mode=0o600)
        tmp.write_text(self.model_dump_json())
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> LoadSession:
        return cls.model_validate_json(path.read_text())
