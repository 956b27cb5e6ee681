"""The coalescing transport: one send per loop iteration, nothing lost, nothing sent after close."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from service.runtime.http_protocol import CoalescingTransport


def in_event_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


@in_event_loop
async def test_writes_of_one_iteration_leave_together() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert inner.sent == []
    assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
    await asyncio.sleep(0)
    assert inner.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert inner.sent[-1] == b"next"


@in_event_loop
async def test_close_sends_what_is_pending_first() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert inner.sent == [b"last words"] and inner.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing more to send
    assert inner.sent == [b"last words"]


@in_event_loop
async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"too late")
    inner.closed = True  # the peer went away before the loop came round
    await asyncio.sleep(0)
    assert inner.sent == []


@in_event_loop
async def test_everything_else_is_the_wrapped_transport() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
    assert transport.is_closing() is False


@in_event_loop
async def test_a_buffer_reused_by_the_caller_is_sent_as_it_was_written() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    buffer = bytearray(b"first")
    transport.write(buffer)
    buffer[:] = b"XXXXX"
    await asyncio.sleep(0)
    assert inner.sent == [b"first"]
