"""The write ledger: every create/update/delete the load made, with its outcome, appended as it happens.

Local workers append JSON lines to `ledger-<worker>.jsonl` in the run directory and flush each line,
so a crash loses at most the writes still in flight. A worker on another machine forwards its records
to the master in its per-second reports; the master appends them to the same kind of file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import orjson

from loadtests.records import LedgerRecord, WriteOutcome
from loadtests.session import LEDGER_GLOB


class LedgerSink(Protocol):
    def write(self, record: LedgerRecord) -> None: ...

    def write_line(self, line: bytes) -> None: ...

    def close(self) -> None: ...


class FileLedger:
    """Appends one JSON line per write, flushed at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("ab")
        self.count = 0

    def write(self, record: LedgerRecord) -> None:
        self.write_line(record.model_dump_json().encode())

    def write_line(self, line: bytes) -> None:
        """One record already serialised as LedgerRecord JSON (the hot path skips pydantic)."""
        self._file.write(line + b"\n")
        self._file.flush()
        self.count += 1

    def write_lines(self, lines: list[bytes]) -> None:
        """Records already serialised elsewhere (forwarded by a remote worker)."""
        if lines:
            self._file.write(b"".join(line + b"\n" for line in lines))
            self._file.flush()
            self.count += len(lines)

    def close(self) -> None:
        self._file.close()


class ForwardLedger:
    """Buffers serialised records until the next report to the master takes them."""

    def __init__(self) -> None:
        self._lines: list[bytes] = []
        self.count = 0

    def write(self, record: LedgerRecord) -> None:
        self.write_line(record.model_dump_json().encode())

    def write_line(self, line: bytes) -> None:
        self._lines.append(line)
        self.count += 1

    def drain(self) -> list[bytes]:
        lines, self._lines = self._lines, []
        return lines

    def close(self) -> None:
        pass


def outcome_for(status: int | None, sent: bool) -> WriteOutcome:
    """What a write's result says about the data.

    2xx: acknowledged. 500/504 and a lost connection after sending: unknown, the function may have
    written before failing or timing out. Any other error response, or never sent: failed.
    """
    if status is not None:
        if 200 <= status < 300:
            return WriteOutcome.ACKNOWLEDGED
        return WriteOutcome.UNKNOWN if status in (500, 504) else WriteOutcome.FAILED
    return WriteOutcome.UNKNOWN if sent else WriteOutcome.FAILED


def read_ledger(run_dir: Path) -> list[LedgerRecord]:
    """Every ledger record of a run, all workers, ordered by intended send time."""
    records: list[LedgerRecord] = []
    for path in sorted(run_dir.glob(LEDGER_GLOB)):
        for line in path.read_bytes().splitlines():
            if line.strip():
                # A line cut short by a killed worker is skipped, not fatal: the write it describes
                # was still in flight and is unknown to the ledger by definition.
                try:
                    records.append(LedgerRecord.model_validate(orjson.loads(line)))
                except (orjson.JSONDecodeError, ValueError):
                    continue
    records.sort(key=lambda r: r.sent_at)
    return records
