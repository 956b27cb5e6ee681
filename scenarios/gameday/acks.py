"""Acknowledging a page from any terminal: `hanbit-drill ack` appends to the run's `acks.jsonl`.

The drill writes `page-<step>.json` in its run directory when it pages and removes it when the step is over;
`ack` finds the pages of live drills under the runs directory and acknowledges them. One line per
acknowledgement (who, when, which step), appended with O_APPEND so concurrent acks never interleave.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from scenarios.gameday.pager import Page

PAGE_FILES = "page-*.json"  # one per open step: two steps paged at once are acknowledged apart
ACKS_FILE = "acks.jsonl"


class Ack(BaseModel):
    run_id: str
    step: int
    at: float
    by: str


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


def page_file(run_dir: Path, step: int) -> Path:
    return run_dir / f"page-{step}.json"


def post_page(run_dir: Path, page: Page) -> None:
    path = page_file(run_dir, page.step)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page.model_dump_json(indent=1))
    os.replace(tmp, path)


def clear_page(run_dir: Path, step: int) -> None:
    page_file(run_dir, step).unlink(missing_ok=True)


def open_pages(report_dir: Path) -> list[tuple[Path, Page]]:
    """Pages waiting in the run directories below `report_dir`, oldest first."""
    found: list[tuple[Path, Page]] = []
    for path in sorted(report_dir.glob(f"**/{PAGE_FILES}")):
        try:
            found.append((path.parent, Page.model_validate_json(path.read_text())))
        except (OSError, ValidationError):
            continue  # being replaced right now, or not ours
    return sorted(found, key=lambda item: item[1].paged_at)


def acknowledge(run_dir: Path, page: Page, by: str | None = None) -> Ack:
    ack = Ack(run_id=page.run_id, step=page.step, at=time.time(), by=by or who())
    fd = os.open(run_dir / ACKS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (ack.model_dump_json() + "\n").encode())
    finally:
        os.close(fd)
    return ack


def acknowledged(run_dir: Path, step: int, since: float) -> Ack | None:
    """The first acknowledgement of `step` made at or after `since` (the page)."""
    try:
        lines = (run_dir / ACKS_FILE).read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        try:
            ack = Ack.model_validate_json(line)
        except ValidationError:
            continue
        if ack.step == step and ack.at >= since:
            return ack
    return None
