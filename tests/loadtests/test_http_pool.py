"""Every way a request can fail is classified exactly once (and a stale keep-alive socket is not a
failure). The pool runs on gevent; the tiny servers here are gevent StreamServers in this process."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator

import gevent
import gevent.server
import pytest

from loadtests.http_pool import HttpPool
from loadtests.runner import free_port

Handler = Callable[[gevent.socket.socket, tuple[str, int]], None]

RESPONSE_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    servers: list[gevent.server.StreamServer] = []

    def start(handler: Handler) -> str:
        server = gevent.server.StreamServer(("127.0.0.1", 0), handler)
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.stop(timeout=1)


def read_request(sock: gevent.socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_refused_port() -> None:
    pool = HttpPool(f"http://127.0.0.1:{free_port()}", 4)
    result = pool.request("GET", "/health", time.time() + 2)
    assert (result.status, result.failure, result.sent) == (None, "connection_refused", False)


def test_http_5xx_is_a_failure_with_its_status(serve: Callable[[Handler], str]) -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        read_request(sock)
        sock.sendall(RESPONSE_503)

    pool = HttpPool(serve(handler), 4)
    result = pool.request("POST", "/todos", time.time() + 2, b'{"title": "x"}', token="abc")
    assert (result.status, result.failure, result.body, result.sent) == (503, "http_503", b"{}", True)


def test_a_silent_server_times_out_at_the_deadline(serve: Callable[[Handler], str]) -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        read_request(sock)
        gevent.sleep(5)  # never answers within the deadline

    pool = HttpPool(serve(handler), 4)
    result = pool.request("GET", "/todos", time.time() + 0.3)
    assert (result.status, result.failure, result.sent) == (None, "timeout", True)


def test_a_reset_connection(serve: Callable[[Handler], str]) -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        read_request(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        sock.close()

    pool = HttpPool(serve(handler), 4)
    result = pool.request("GET", "/todos", time.time() + 2)
    assert (result.status, result.failure, result.sent) == (None, "connection_reset", True)


def test_stale_keep_alive_socket_is_retried_once_on_a_fresh_one(serve: Callable[[Handler], str]) -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        sock.close()  # closes a connection the client believes is kept alive

    pool = HttpPool(serve(handler), 4)
    first = pool.request("GET", "/a", time.time() + 2)
    gevent.sleep(0.05)  # let the close arrive
    second = pool.request("GET", "/b", time.time() + 2)
    assert (first.status, second.status, second.failure) == (200, 200, None)
    assert pool.connects == 2


def test_waiting_for_a_busy_pool_counts_against_the_deadline(serve: Callable[[Handler], str]) -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        read_request(sock)
        gevent.sleep(1)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    pool = HttpPool(serve(handler), 1)
    slow = gevent.spawn(pool.request, "GET", "/slow", time.time() + 3)
    gevent.sleep(0.05)
    queued = pool.request("GET", "/queued", time.time() + 0.2)
    assert (queued.failure, queued.sent) == ("timeout", False)  # never got a connection: not sent
    assert slow.get().status == 200


def test_only_http_and_https_targets() -> None:
    with pytest.raises(ValueError, match="https://"):
        HttpPool("ftp://example.com", 1)


def test_after_the_server_dies_requests_are_refused_not_reset(serve: Callable[[Handler], str]) -> None:
    """Many kept-alive sockets go stale at once: the retry must take a fresh socket, not another
    stale one, so the failure is the truth (refused), not an artefact (reset)."""

    accepted: list[gevent.socket.socket] = []

    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        accepted.append(sock)
        while read_request(sock):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    server = gevent.server.StreamServer(("127.0.0.1", 0), handler)
    server.start()
    pool = HttpPool(f"http://127.0.0.1:{server.server_port}", 8)
    first = [gevent.spawn(pool.request, "GET", "/", time.time() + 2) for _ in range(8)]
    assert [g.get().status for g in first] == [200] * 8  # eight kept-alive sockets in the pool
    server.close()  # the process "dies": no listener, every connection closed
    for sock in accepted:
        sock.close()
    gevent.sleep(0.05)
    after = pool.request("GET", "/", time.time() + 2)
    assert (after.failure, after.sent) == ("connection_refused", False)


def test_the_load_follows_a_name_to_its_new_address_after_the_ttl(serve, monkeypatch) -> None:
    """A failover record's name moves to the secondary: requests after its TTL go there, kept-alive sockets
    to the old address included (a busy load reuses them and would never connect anew)."""
    from loadtests import http_pool

    def answer(region: bytes) -> Handler:
        def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
            while read_request(sock):
                sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(region), region))
        return handler

    primary = serve(answer(b"primary")).rsplit(":", 1)[1]
    secondary = int(serve(answer(b"secondary")).rsplit(":", 1)[1])
    names = {"api.drill.test": ("127.0.0.1", int(primary))}

    def resolve(host: str, port: int, **_: object) -> list:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", names[host])]

    monkeypatch.setattr(http_pool.socket, "getaddrinfo", resolve)
    clock = [1000.0]
    monkeypatch.setattr(http_pool.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(http_pool, "_IDLE_MAX_S", 1e9)  # a busy load: its sockets never sit idle long
    pool = HttpPool("http://api.drill.test", 4)
    assert pool.request("GET", "/", time.time() + 2).body == b"primary"
    names["api.drill.test"] = ("127.0.0.1", secondary)  # the failover
    clock[0] += 1  # within the TTL the kept-alive socket is still used
    assert pool.request("GET", "/", time.time() + 2).body == b"primary"
    clock[0] += http_pool.RESOLVE_EVERY_S
    assert pool.request("GET", "/", time.time() + 2).body == b"secondary"
    assert pool.connects == 2
