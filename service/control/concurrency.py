"""Reserved concurrency across worker processes: one byte-range lock per execution slot.

A region's workers share a slot file. An invocation holds one slot (an fcntl record
lock on byte N, N < the limit) while it runs; when every slot is held, across all
processes, the invocation is refused (429), exactly as Lambda counts concurrent
executions. The kernel drops a dead worker's locks, so a crash never leaks a slot.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
from pathlib import Path


class ConcurrencySlots:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Closing any fd of a file drops all this process's locks on it: one fd, kept open.
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._held: set[int] = set()  # record locks are per process: track our own slots

    @property
    def held(self) -> int:
        return len(self._held)

    def acquire(self, limit: int) -> int | None:
        """A free slot below `limit`, or None when `limit` executions already run."""
        if limit <= 0 or len(self._held) >= limit:
            return None
        start = random.randrange(limit)  # spread processes over the slots: fewer failed probes
        for k in range(limit):
            slot = (start + k) % limit
            if slot in self._held:
                continue
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    continue  # another process runs in this slot
                raise
            self._held.add(slot)
            return slot
        return None

    def release(self, slot: int) -> None:
        if slot in self._held:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)
            self._held.discard(slot)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._held.clear()
