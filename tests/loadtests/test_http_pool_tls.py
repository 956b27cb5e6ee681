"""The load client over HTTPS: verified certificates, kept-alive TLS connections, and `tls_error` for a
certificate that is not trusted or names another host. The servers are gevent StreamServers in this
process, with certificates made here by a test CA (trustme)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator

import gevent
import gevent.server
import gevent.socket
import gevent.ssl
import pytest
import trustme

from loadtests.http_pool import HttpPool

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
OK_CLOSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # gevent's: the server shares this hub
    ca.issue_cert(*names).configure_cert(context)
    return context


def read_request(sock: gevent.socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


Starter = Callable[..., int]


@pytest.fixture
def tls_server() -> Iterator[Starter]:
    """start(context, answer) -> port: answers every request on a connection with `answer`."""
    servers: list[gevent.server.StreamServer] = []

    def start(context: ssl.SSLContext, answer: bytes = OK) -> int:
        def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
            try:
                while read_request(sock):
                    sock.sendall(answer)
                    if answer is OK_CLOSE:
                        break
            except (OSError, ssl.SSLError):
                pass  # a client that refused our certificate hangs up mid-handshake

        server = gevent.server.StreamServer(("127.0.0.1", 0), handler, ssl_context=context)
        server.start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.stop(timeout=1)


def test_https_with_the_test_ca_keeps_one_connection_alive(ca: trustme.CA, tls_server: Starter) -> None:
    port = tls_server(server_context(ca, "127.0.0.1"))
    pool = HttpPool(f"https://127.0.0.1:{port}", 4, cadata=ca.cert_pem.bytes().decode())
    results = [pool.request("GET", f"/todos/{i}", time.time() + 5) for i in range(3)]
    assert [(r.status, r.body, r.failure) for r in results] == [(200, b"ok", None)] * 3
    assert pool.connects == 1  # the TLS connection is kept alive and reused


def test_a_new_connection_resumes_the_tls_session(ca: trustme.CA, tls_server: Starter) -> None:
    port = tls_server(server_context(ca, "127.0.0.1"), OK_CLOSE)  # the server closes after each answer
    pool = HttpPool(f"https://127.0.0.1:{port}", 4, cadata=ca.cert_pem.bytes().decode())
    results = [pool.request("GET", "/health", time.time() + 5) for _ in range(3)]
    assert [r.status for r in results] == [200] * 3
    assert pool.connects == 3 and pool.resumed == 2  # abbreviated handshakes after the first


def test_a_certificate_from_an_untrusted_ca_is_a_tls_error(ca: trustme.CA, tls_server: Starter) -> None:
    port = tls_server(server_context(ca, "127.0.0.1"))
    for pool in (HttpPool(f"https://127.0.0.1:{port}", 4),  # the system trust store
                 HttpPool(f"https://127.0.0.1:{port}", 4, cadata=trustme.CA().cert_pem.bytes().decode())):
        result = pool.request("POST", "/todos", time.time() + 5, b"{}")
        assert (result.status, result.failure, result.sent) == (None, "tls_error", False)


def test_a_certificate_for_another_host_is_a_tls_error(ca: trustme.CA, tls_server: Starter) -> None:
    port = tls_server(server_context(ca, "localhost"))  # the URL names 127.0.0.1
    pool = HttpPool(f"https://127.0.0.1:{port}", 4, cadata=ca.cert_pem.bytes().decode())
    result = pool.request("GET", "/health", time.time() + 5)
    assert (result.status, result.failure, result.sent) == (None, "tls_error", False)


def test_the_host_name_is_checked_and_sent(ca: trustme.CA, tls_server: Starter) -> None:
    """By name: the certificate for `localhost` is accepted at https://localhost (SNI carries the name)."""
    context = server_context(ca, "localhost")
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    port = tls_server(context)
    pool = HttpPool(f"https://localhost:{port}", 4, cadata=ca.cert_pem.bytes().decode())
    result = pool.request("GET", "/health", time.time() + 5)
    assert (result.status, result.failure) == (200, None)
    assert names == ["localhost"]


def test_a_plain_http_server_at_an_https_url_is_a_tls_error() -> None:
    def handler(sock: gevent.socket.socket, _: tuple[str, int]) -> None:
        sock.recv(4096)  # a ClientHello, not HTTP: answered as an HTTP server does
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    server = gevent.server.StreamServer(("127.0.0.1", 0), handler)
    server.start()
    try:
        result = HttpPool(f"https://127.0.0.1:{server.server_port}", 4).request("GET", "/health", time.time() + 5)
        assert (result.status, result.failure, result.sent) == (None, "tls_error", False)
    finally:
        server.stop(timeout=1)


def test_a_handshake_that_never_ends_times_out_at_the_deadline() -> None:
    """A server that accepts and never speaks: the handshake is inside the request's deadline."""
    accepted: list[gevent.socket.socket] = []
    server = gevent.server.StreamServer(("127.0.0.1", 0), lambda sock, _: (accepted.append(sock), gevent.sleep(5)))
    server.start()
    try:
        pool = HttpPool(f"https://127.0.0.1:{server.server_port}", 4)
        result = pool.request("GET", "/health", time.time() + 0.3)
        assert (result.status, result.failure, result.sent) == (None, "timeout", False)
    finally:
        server.stop(timeout=1)
