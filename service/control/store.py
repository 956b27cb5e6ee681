"""The control state on disk: one JSON file, replaced atomically, with a generation counter.

Writers (the supervisor's control API, health checker) go through `StateStore.update`,
which serialises them with a lock file, so a reader never sees a half-written state:
the new file is written beside the old one and renamed over it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from service.control.state import ControlState

T = TypeVar("T")

STATE_FILE = "state.json"


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.Lock()

    @classmethod
    def create(cls, path: Path, initial: ControlState) -> StateStore:
        """A store holding `initial` (replacing any earlier state: a new deployment)."""
        store = cls(path)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        with store._locked():
            store._write(initial.model_copy(update={"generation": 1, "updated_at": time.time()}))
        return store

    def read(self) -> ControlState:
        return ControlState.model_validate_json(self.path.read_bytes())

    def update(self, mutate: Callable[[ControlState], T]) -> T:
        """Apply `mutate` to a copy of the current state and publish it as the next generation.
        If `mutate` raises, nothing is written."""
        with self._locked():
            state = self.read()
            result = mutate(state)
            state.generation += 1
            state.updated_at = time.time()
            # Validate what the mutation made: a bad value must fail here, not in every worker.
            ControlState.model_validate(state.model_dump())
            self._write(state)
            return result

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _write(self, state: ControlState) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        data = state.model_dump_json(indent=1).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
