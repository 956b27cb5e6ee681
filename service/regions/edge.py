"""The edge: the public URL in front of the regions, routing like Route 53 failover records.

DNS failover decides where a client's *new* connections go; connections already open
stay with the region they reached. The edge does the same at the TCP level: each
accepted connection is piped, byte for byte, to the region the control state names as
`edge.serving` at that moment: the edge checks the state file as it accepts, so a switch
already written applies to the very next connection, not one watcher poll later. When
that region refuses, the client's connection is closed at once (a refused connect); when
it is black-holed, the client waits, as it would for an unreachable region. Piping bytes
costs far less than proxying HTTP, so the edge adds little to the service's own latency.

Run as its own process: `python -m service.regions.edge --state FILE --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path

from service.control.state import ControlState
from service.control.watcher import StateWatcher

HOST = "127.0.0.1"
_log = logging.getLogger("service.edge")


class _Pipe(asyncio.Protocol):
    """One side of a proxied connection; writes what it receives to its peer, with backpressure."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.pending: list[bytes] = []  # client bytes that arrived before the region connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport subclasses
        transport.set_write_buffer_limits(high=256 * 1024)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool | None:
        self._close_peer()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._close_peer()

    def _close_peer(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            peer.transport.close()  # flushes what is buffered, then closes

    # The peer's write buffer is full: stop reading until it drains.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _ClientSide(_Pipe):
    def __init__(self, edge: Edge) -> None:
        super().__init__()
        self.edge = edge

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.edge.accepted += 1
        target = self.edge.target()
        if target is None:
            transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._connect(*target))
        self.edge.tasks.add(task)
        task.add_done_callback(self.edge.tasks.discard)

    async def _connect(self, region: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(_Pipe, HOST, port)
        except OSError:
            # The region refuses: so does the edge, as closely as TCP lets a proxy (a reset).
            self.edge.refused[region] = self.edge.refused.get(region, 0) + 1
            if self.transport is not None:
                self.transport.abort()
            return
        if self.transport is None or self.transport.is_closing():
            upstream.transport.close()  # the client gave up while we connected
            return
        upstream.peer = self
        self.peer = upstream
        self.edge.routed[region] = self.edge.routed.get(region, 0) + 1
        for chunk in self.pending:
            upstream.transport.write(chunk)
        self.pending.clear()


class Edge:
    """Accepts on the public port; routes each new connection by the current control state."""

    def __init__(self, watcher: StateWatcher) -> None:
        self.watcher = watcher
        self._target: tuple[str, int] | None = None
        self.accepted = 0
        self.routed: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        watcher.subscribe(self._follow)

    def _follow(self, state: ControlState) -> None:
        region = state.regions.get(state.edge.serving)
        self._target = (region.name, region.port) if region is not None and region.port else None

    def target(self) -> tuple[str, int] | None:
        """Where a connection accepted now goes: by the state file as it is now.

        Following the poll alone left the edge up to one interval (far more on a busy machine)
        behind a failover already written and logged: new connections still went to the region
        traffic had moved away from, a reset from a refusing one, a hang from a black-holed one.
        A stat() per new connection (about 2 µs; a re-read only when the file changed) is little
        next to the upstream connect that follows."""
        with contextlib.suppress(OSError):  # the file out of reach: route by the last state seen
            self.watcher.refresh()
        return self._target

    async def serve(self, sock: socket.socket) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        self.watcher.start()
        return await loop.create_server(lambda: _ClientSide(self), sock=sock, backlog=4096)


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def _main(state_file: Path, sock: socket.socket) -> None:
    edge = Edge(StateWatcher(state_file))
    server = await edge.serve(sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await edge.watcher.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.regions.edge", description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="control state file to follow")
    parser.add_argument("--port", type=int, help="public port on 127.0.0.1")
    parser.add_argument("--fd", type=int, help="an already bound listening socket to serve on")
    args = parser.parse_args(argv)
    if (args.port is None) == (args.fd is None):
        parser.error("give exactly one of --port and --fd")
    sock = socket.socket(fileno=args.fd) if args.fd is not None else bind(args.port)
    sock.setblocking(False)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s edge[%(process)d] %(levelname)s %(message)s")
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_main(args.state, sock))


if __name__ == "__main__":
    main()
