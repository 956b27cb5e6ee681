"""Signals during a drill: SIGTERM ends it like Ctrl-C (faults reverted); during the revert both wait."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class DrillInterrupted(BaseException):
    """SIGTERM arrived. A BaseException so that no `except Exception` swallows it."""


def _raise_interrupted(signum: int, frame: object) -> None:
    raise DrillInterrupted(signal.Signals(signum).name)


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM raises DrillInterrupted (SIGINT already raises KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM while faults are reverted: noted, not acted on (the run is ending anyway)."""
    received: list[int] = []

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
