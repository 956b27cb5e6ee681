"""The per-second stream from the Locust master to the caller: JSON lines in the run directory.

A file rather than a pipe: it survives the caller, can be tailed by anyone, and is the run's record.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import orjson
from pydantic import BaseModel

from loadtests.records import SecondSample


class EventKind(StrEnum):
    START = "start"  # the load's time zero and how many workers carry it
    SECOND = "second"  # one merged SecondSample
    END = "end"  # the master has emitted every second of the run


class StreamEvent(BaseModel):
    kind: EventKind
    start_epoch: float | None = None
    end_epoch: float | None = None
    workers: int | None = None
    sample: SecondSample | None = None
    late: int = 0  # results or reports that arrived after their second was emitted


class StreamWriter:
    def __init__(self, path: Path) -> None:
        self._file = path.open("ab")

    def write(self, event: StreamEvent) -> None:
        self._file.write(orjson.dumps(event.model_dump(mode="json", exclude_none=True)) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class StreamReader:
    """Reads events appended to the stream file, complete lines only, from where it left off."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._rest = b""

    def poll_pending(self) -> bool:
        """Whether the file holds bytes not read yet."""
        try:
            return self._path.stat().st_size > self._offset
        except FileNotFoundError:
            return False

    def poll(self) -> list[StreamEvent]:
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        data = self._rest + data
        *lines, self._rest = data.split(b"\n")
        return [StreamEvent.model_validate(orjson.loads(line)) for line in lines if line.strip()]
