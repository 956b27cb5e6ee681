"""Waiting for AWS to converge, with injectable sleep and clock so tests never wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from common.errors import ProviderError

T = TypeVar("T")


@dataclass
class Poller:
    interval_s: float = 5.0
    timeout_s: float = 1800.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = field(default=time.monotonic)

    def until(self, probe: Callable[[], T | None], what: str, timeout_s: float | None = None) -> T:
        """Call `probe` until it returns a value other than None; raise after the timeout.

        `probe` raises to abort at once (e.g. a FIS experiment that failed)."""
        deadline = self.clock() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            result = probe()
            if result is not None:
                return result
            if self.clock() >= deadline:
                raise ProviderError(f"timed out after {timeout_s or self.timeout_s:.0f} s waiting for {what}")
            self.sleep(self.interval_s)
