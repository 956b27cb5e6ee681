"""Workers follow the control state: a stat() every 50 ms, a re-read only when the file changed.

The hot path never touches the file: it reads whatever the listeners derived from the
last state (e.g. the LIVE version's handler), so a request pays nothing for the control
plane until something is actually injected. A change is seen within one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from service.control.state import ControlState

POLL_S = 0.05
_log = logging.getLogger("service.control")

Listener = Callable[[ControlState], None]


class StateWatcher:
    def __init__(self, path: Path, poll_s: float = POLL_S) -> None:
        self.path = Path(path)
        self.poll_s = poll_s
        self._listeners: list[Listener] = []
        self._signature: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self.state: ControlState = ControlState.model_validate_json(self.path.read_bytes())
        self._signature = self._stat()

    @property
    def generation(self) -> int:
        return self.state.generation

    def subscribe(self, listener: Listener, *, call_now: bool = True) -> None:
        self._listeners.append(listener)
        if call_now:
            listener(self.state)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        # The file is replaced by rename: a new inode on every write, whatever the clock does.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self) -> bool:
        """Re-read the state if the file changed. True when a newer generation was applied."""
        signature = self._stat()
        if signature is None or signature == self._signature:
            return False
        try:
            state = ControlState.model_validate_json(self.path.read_bytes())
        except (OSError, ValueError):
            _log.exception("unreadable control state %s; keeping generation %d", self.path, self.generation)
            return False
        self._signature = signature
        if state.generation <= self.state.generation:
            return False
        self.state = state
        for listener in self._listeners:
            try:
                listener(state)
            except Exception:  # noqa: BLE001 - one bad consumer must not stop the others from following
                _log.exception("control state listener failed")
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            self.refresh()

    def start(self) -> None:
        """Poll from the running event loop until `stop`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    def cancel(self) -> None:
        """Stop polling, from synchronous code (e.g. a shutdown hook)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
