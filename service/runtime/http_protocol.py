"""uvicorn's httptools protocol, with every response leaving in one send.

An ASGI app answers with two messages (`http.response.start`, then the body), and uvicorn
writes each to the socket at once: two TCP segments per response, and the client wakes up
twice. Here the connection's writes are held until the end of the event-loop iteration and
go out together, which cuts the kernel work of both ends by about a third on loopback
(benchmarks/service_bench.py: bare hello-world 17k -> 22k RPS on this machine).

It also keeps one keep-alive timer per connection instead of one per response. uvicorn arms
a timer after every response and cancels it when the next request arrives: a timer made and
dropped per request. Here a response only notes the time; the connection's one timer, when
it fires, closes the connection if it has been idle for `timeout_keep_alive` since, or
sleeps again until it would have (benchmarks/service_instructions.py: a bare hello-world
costs 117k -> 114k instructions per request).

Use it as uvicorn's `http` setting: `uvicorn.Config(app, http=SingleWriteHttpToolsProtocol)`,
or `--http service.runtime.http_protocol:SingleWriteHttpToolsProtocol` on the command line.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes made within one loop iteration are sent as one buffer.

    Everything else is the wrapped transport's: reading, closing (after a last flush),
    flow control (the wrapped transport still calls the protocol's pause_writing).
    """

    __slots__ = ("_transport", "_loop", "_pending", "_scheduled",
                 "is_closing", "pause_reading", "resume_reading", "get_extra_info")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False
        # uvicorn calls these on every request: bound directly, not looked up through __getattr__.
        self.is_closing = transport.is_closing
        self.pause_reading = transport.pause_reading
        self.resume_reading = transport.resume_reading
        self.get_extra_info = transport.get_extra_info

    def write(self, data: bytes) -> None:
        if type(data) is not bytes:  # held until the iteration ends: the caller may reuse its buffer
            data = bytes(data)
        self._pending.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        self._scheduled = False
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self.is_closing():  # the peer went away meanwhile: nothing to send to
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class SingleWriteHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._idle_since = 0.0
        # The scope of the request whose answer started the idle time. uvicorn makes a new scope
        # as soon as the next request's first bytes arrive: a different one means busy.
        self._idle_scope: object = None
        self._idle_timer: asyncio.TimerHandle | None = None
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        # uvicorn's, except that the keep-alive timer is armed once, not per response.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        self._idle_scope = self.scope
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_at(self._idle_since + self.timeout_keep_alive, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self.scope is not self._idle_scope or self.transport.is_closing():
            return  # busy (re-armed when its response completes), or already going away
        deadline = self._idle_since + self.timeout_keep_alive
        if self.loop.time() >= deadline:
            self.timeout_keep_alive_handler()
        else:
            self._idle_timer = self.loop.call_at(deadline, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)
