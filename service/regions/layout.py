"""Where a deployment keeps its files, and the ready file callers wait for.

    <data_dir>/admin.token            control API token (0600)
    <data_dir>/ready.json             written once everything answers (see DeploymentReady)
    <data_dir>/control/state.json     the control state; changes.jsonl: the change log
    <data_dir>/identity/              the user pool and signing key, shared by the regions
    <data_dir>/regions/<name>/        one region's service data dir (todos.db, logs, backups...)
    <data_dir>/logs/                  supervisor, region and edge output
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil
from pydantic import BaseModel

from service.process_identity import process_that_wrote

READY_FILE = "ready.json"
# The user pool (Cognito stand-in) is global: sign-ins and revocations hold in every region, so
# clients keep working through a failover. Each region's data dir links these files to identity/.
SHARED_IDENTITY_FILES = ("users.db", "users.gen", "signing.key")


class DeploymentReady(BaseModel):
    url: str  # the public URL (the edge with two regions)
    control_url: str
    pid: int  # the supervisor; its process group holds every process of the deployment
    regions: dict[str, str]  # region -> its own URL
    primary: str
    workers: int
    data_dir: str
    started_at: float

    @classmethod
    def read(cls, data_dir: Path) -> DeploymentReady | None:
        try:
            return cls.model_validate_json((Path(data_dir) / READY_FILE).read_bytes())
        except (OSError, ValueError):
            return None

    def running_process(self) -> psutil.Process | None:
        """The supervisor that wrote this file, if it still runs (not a later process given its pid)."""
        return process_that_wrote(self.pid, self.started_at)

    def write(self, data_dir: Path) -> None:
        path = Path(data_dir) / READY_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.model_dump_json(indent=1))
        os.replace(tmp, path)


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def ready_file(self) -> Path:
        return self.root / READY_FILE

    @property
    def control_dir(self) -> Path:
        return self.root / "control"

    @property
    def state_file(self) -> Path:
        return self.control_dir / "state.json"

    @property
    def change_log(self) -> Path:
        return self.control_dir / "changes.jsonl"

    @property
    def identity_dir(self) -> Path:
        return self.root / "identity"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def region_dir(self, region: str) -> Path:
        return self.root / "regions" / region

    def prepare(self, regions: list[str]) -> None:
        """Create the directories, and link each region's identity files to the shared ones."""
        for path in (self.control_dir, self.identity_dir, self.logs_dir):
            path.mkdir(parents=True, exist_ok=True)
        for region in regions:
            region_dir = self.region_dir(region)
            region_dir.mkdir(parents=True, exist_ok=True)
            for name in SHARED_IDENTITY_FILES:
                link = region_dir / name
                target = os.path.relpath(self.identity_dir / name, region_dir)
                if link.is_symlink() and os.readlink(link) == target:
                    continue
                if link.exists() or link.is_symlink():
                    raise FileExistsError(f"{link} exists and is not the shared identity file; "
                                          "use a fresh data directory")
                link.symlink_to(target)
