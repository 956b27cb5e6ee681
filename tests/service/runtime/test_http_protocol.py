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


# ---- keep-alive: one timer per connection -------------------------------------------------


async def _hello(scope: dict, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _connect(timeout_keep_alive: float) -> tuple[Any, RecordingTransport]:
    import uvicorn
    from uvicorn.server import ServerState

    from service.runtime.http_protocol import SingleWriteHttpToolsProtocol

    config = uvicorn.Config(_hello, http="httptools", loop="none", lifespan="off", log_level="warning",
                            timeout_keep_alive=timeout_keep_alive)  # type: ignore[arg-type]
    config.load()
    protocol = SingleWriteHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _request(protocol: Any, transport: RecordingTransport) -> None:
    answered = len(transport.sent)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    for _ in range(100):
        await asyncio.sleep(0)
        if len(transport.sent) > answered:
            return
    raise AssertionError("no response")


async def _closed_within(transport: RecordingTransport, seconds: float) -> bool:
    for _ in range(int(seconds / 0.01)):
        if transport.closed:
            return True
        await asyncio.sleep(0.01)
    return transport.closed


# Timeouts are long next to the gaps between requests, so a slow machine cannot make them flaky;
# waits for the close are bounded polls.


@in_event_loop
async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout() -> None:
    loop = asyncio.get_running_loop()
    protocol, transport = _connect(timeout_keep_alive=0.5)
    await _request(protocol, transport)
    answered_at = loop.time()
    assert transport.sent[-1].startswith(b"HTTP/1.1 200")
    assert await _closed_within(transport, 5.0)
    assert loop.time() - answered_at >= 0.45  # not before the timeout (less a loop turn)


@in_event_loop
async def test_requests_within_the_timeout_keep_the_connection_open() -> None:
    loop = asyncio.get_running_loop()
    protocol, transport = _connect(timeout_keep_alive=0.5)
    began = loop.time()
    while loop.time() - began < 1.2:  # more than twice the timeout, never idle for long
        await _request(protocol, transport)
        await asyncio.sleep(0.02)
        assert not transport.closed
    assert await _closed_within(transport, 5.0)


@in_event_loop
async def test_a_lost_connection_leaves_no_timer() -> None:
    protocol, transport = _connect(timeout_keep_alive=0.5)
    await _request(protocol, transport)
    assert protocol._idle_timer is not None
    protocol.connection_lost(None)
    assert protocol._idle_timer is None


@in_event_loop
async def test_a_request_being_received_is_not_cut_off_by_the_idle_timer() -> None:
    protocol, transport = _connect(timeout_keep_alive=0.3)
    await _request(protocol, transport)
    protocol.data_received(b"GET / HTTP/1.1\r\nHo")  # the next request, half of it
    await asyncio.sleep(0.9)  # three timeouts
    assert not transport.closed  # as uvicorn: any data since the last answer disarms the timeout
    answered = len(transport.sent)
    protocol.data_received(b"st: x\r\n\r\n")
    for _ in range(100):
        await asyncio.sleep(0)
    assert len(transport.sent) == answered + 1
    assert await _closed_within(transport, 5.0)
