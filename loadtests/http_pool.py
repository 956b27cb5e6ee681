"""A small HTTP/1.1 keep-alive client for gevent, built for measuring rather than convenience.

Why not Locust's HttpUser/FastHttpUser: `requests` costs too much CPU per call at 1,000+ RPS, and
geventhttpclient retries silently and leaks a pooled connection when a deadline interrupts it. Here
every request has one absolute deadline (intended send time + timeout) covering the wait for a
connection, connecting, sending and reading; and every failure is classified exactly once:
refused, reset, timeout, tls_error, other, or `http_<status>`. A pool of connections per worker
process is shared by all its simulated users (10,000 users must not mean 10,000 sockets on one loopback).

https targets get TLS on the same gevent sockets: the certificate is verified (system trust store, or
the CAs of the plan's bundle), the host name checked and sent as SNI. The handshake is part of
connecting, inside the request's deadline; kept-alive connections stay encrypted and are reused as
plain ones are, and a new connection offers the last session for resumption (an abbreviated handshake
where the server still knows it).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import gevent.lock
import gevent.socket
import gevent.ssl
import httptools

from common.tls import client_context
from loadtests.records import FailureKind

_RECV = 65536
_IDLE_MAX_S = 4.0  # below uvicorn's default 5 s keep-alive: never reuse a socket the server is closing
# A name is looked up again this often, as a client honouring a failover record's TTL would (Route 53
# failover records commonly have a 60 s TTL): after a failover the load follows the name, and sockets
# to the address it no longer names are not reused.
RESOLVE_EVERY_S = 60.0


@dataclass(slots=True)
class HttpResult:
    status: int | None  # None: no response
    body: bytes
    failure: str | None  # FailureKind value or "http_<status>" for >= 400; None on success
    sent: bool  # the request may have reached the server (decides "failed" vs "unknown" writes)


class _Response:
    """httptools callbacks for one response."""

    __slots__ = ("close", "complete", "parser", "parts")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.complete = False
        self.close = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete the parser has reset and always says no.
        assert self.parser is not None
        if not self.parser.should_keep_alive():
            self.close = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"connection" and value.strip().lower() == b"close":
            self.close = True

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Deadline(Exception):
    """The request's deadline passed (raised into it by its gevent.Timeout)."""


@dataclass(slots=True)
class _Attempt:
    sent: bool = False  # request bytes may have reached the server


class _Dropped(Exception):
    """The connection ended before a complete response; `received`: some of it had arrived."""

    def __init__(self, kind: FailureKind, received: bool) -> None:
        self.kind = kind
        self.received = received


class HttpPool:
    """Connection pool to one `http[s]://host:port[/prefix]` target, cooperative under gevent.

    `cadata`: for https, the PEM text of the CAs to trust instead of the system's trust store.
    `content_type` and `headers` go with every request (e.g. an AWS JSON API's target header)."""

    def __init__(self, base_url: str, size: int, *, cadata: str | None = None,
                 content_type: str = "application/json", headers: Mapping[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"only http:// and https:// targets are supported, not {base_url!r}")
        https = url.scheme == "https"
        # Resolved once a TTL, not per connect: gevent resolves in a thread pool.
        self._port = url.port or (443 if https else 80)
        self._literal = _is_ip_literal(url.hostname)
        self._family, self._addr = self._resolve(url.hostname)
        self._resolved_at = time.monotonic()
        self._prefix = url.path.rstrip("/")
        self._host_header = url.netloc
        self._content_type = content_type
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._server_name = url.hostname
        # gevent's context: its sockets wait on the hub, not in a blocking system call.
        self._tls = client_context(cadata=cadata, context_class=gevent.ssl.SSLContext) if https else None
        self._tls_session: ssl.SSLSession | None = None
        self._slots = gevent.lock.BoundedSemaphore(size)
        self._idle: list[tuple[gevent.socket.socket, float, int]] = []  # LIFO keeps few sockets hot
        self._generation = 0  # of the address: a socket to an address the name no longer has is not kept
        self.connects = 0
        self.resumed = 0  # TLS connections that resumed an earlier session

    def close(self) -> None:
        for sock, _, _ in self._idle:
            sock.close()
        self._idle.clear()

    def request(
        self, method: str, path: str, deadline: float, body: bytes | None = None, token: str | None = None
    ) -> HttpResult:
        remaining = deadline - time.time()
        if remaining <= 0:
            return HttpResult(None, b"", FailureKind.TIMEOUT, sent=False)
        attempt = _Attempt()
        # One timer for the whole request (wait for a connection, connect, send, read) instead of
        # a timeout per socket operation: cheaper, and the deadline is exact.
        timer = gevent.Timeout(remaining, _Deadline)
        timer.start()
        try:
            self._slots.acquire()
            try:
                return self._request(self._encode(method, path, body, token), attempt)
            finally:
                self._slots.release()
        except _Deadline:
            return HttpResult(None, b"", FailureKind.TIMEOUT, sent=attempt.sent)
        finally:
            timer.close()

    def _encode(self, method: str, path: str, body: bytes | None, token: str | None) -> bytes:
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\nHost: {self._host_header}\r\n{self._headers}"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += f"Content-Type: {self._content_type}\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode("latin-1") + (body or b"")

    def _request(self, raw: bytes, attempt: _Attempt) -> HttpResult:
        # One retry, on a fresh socket, only when a kept-alive socket turns out closed before any
        # response byte (RFC 9112 9.3.1); a fresh socket's failure is always reported.
        for retry in (False, True):
            sock, reused = (None, False) if retry else self._idle_socket()
            generation = self._generation  # an idle socket is of the current address
            try:
                if sock is None:
                    sock, generation = self._connect()
                attempt.sent = True
                resp, keep = _exchange(sock, raw)
            except _Dropped as drop:
                _close(sock)
                if reused and not drop.received:
                    continue
                return HttpResult(None, b"", drop.kind, sent=attempt.sent)
            except ConnectionRefusedError:
                _close(sock)
                return HttpResult(None, b"", FailureKind.CONNECTION_REFUSED, sent=False)
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError,
                    ssl.SSLZeroReturnError):
                # The TLS ones: the peer closed mid-handshake or mid-record, a lost connection as well.
                _close(sock)
                if reused:
                    continue
                return HttpResult(None, b"", FailureKind.CONNECTION_RESET, sent=attempt.sent)
            except ssl.SSLError:  # not trusted, wrong name, no common protocol, a plain-HTTP server
                _close(sock)
                return HttpResult(None, b"", FailureKind.TLS_ERROR, sent=attempt.sent)
            except TimeoutError:  # the kernel gave up connecting
                _close(sock)
                return HttpResult(None, b"", FailureKind.TIMEOUT, sent=attempt.sent)
            except (OSError, httptools.HttpParserError):
                _close(sock)
                return HttpResult(None, b"", FailureKind.OTHER, sent=attempt.sent)
            except BaseException:
                _close(sock)  # deadline or kill mid-request: never pool a half-read socket
                raise
            if not reused and self._tls is not None:
                # Read after a response: TLS 1.3 sends its session ticket after the handshake.
                self._tls_session = sock.session
            if keep and generation == self._generation:
                self._idle.append((sock, time.monotonic(), generation))
            else:
                sock.close()
            status = resp[0]
            return HttpResult(status, resp[1], None if status < 400 else FailureKind.http(status), sent=True)
        return HttpResult(None, b"", FailureKind.CONNECTION_RESET, sent=attempt.sent)

    def _idle_socket(self) -> tuple[gevent.socket.socket | None, bool]:
        # No liveness probe (a syscall per request): a kept-alive socket the server closed fails
        # before any response byte and is retried once on a fresh one, see `_request`.
        self._follow_the_name()
        now = time.monotonic()
        while self._idle:
            sock, since, generation = self._idle.pop()
            if now - since < _IDLE_MAX_S and generation == self._generation:
                return sock, True
            sock.close()
        return None, False

    def _resolve(self, host: str) -> tuple[socket.AddressFamily, tuple]:
        family, _, _, _, addr = socket.getaddrinfo(host, self._port, type=socket.SOCK_STREAM)[0]
        return family, addr

    def _follow_the_name(self) -> None:
        """Look the name up again once its TTL is over; on a new address, drop the idle sockets to the old."""
        if self._literal or time.monotonic() - self._resolved_at < RESOLVE_EVERY_S:
            return
        self._resolved_at = time.monotonic()
        try:
            family, addr = self._resolve(self._server_name)
        except OSError:
            return  # keep the last address; the connect reports what is wrong with it
        if addr != self._addr:
            self._family, self._addr = family, addr
            self._generation += 1  # sockets to the old address: idle ones are closed when next picked, busy
            # ones when they come back

    def _connect(self) -> tuple[gevent.socket.socket, int]:
        """A new socket, and the generation of the address it went to (other greenlets may look the name
        up again while this one connects)."""
        self._follow_the_name()
        family, addr, generation = self._family, self._addr, self._generation
        sock = gevent.socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.connect(addr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._handshake(sock)
        except BaseException:
            sock.close()
            raise
        self.connects += 1
        return sock, generation

    def _handshake(self, sock: gevent.socket.socket) -> gevent.ssl.SSLSocket:
        assert self._tls is not None
        # The handshake is started here, not by wrap_socket: a deadline that interrupts it must still
        # close the TLS socket (wrap_socket closes it only on socket errors).
        tls = self._tls.wrap_socket(sock, server_hostname=self._server_name, do_handshake_on_connect=False,
                                    session=self._tls_session)
        try:
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        if tls.session_reused:
            self.resumed += 1
        return tls


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _exchange(sock: gevent.socket.socket, raw: bytes) -> tuple[tuple[int, bytes], bool]:
    sock.sendall(raw)
    proto = _Response()
    parser = proto.parser = httptools.HttpResponseParser(proto)
    received = False
    try:
        while not proto.complete:
            data = sock.recv(_RECV)
            if not data:
                raise _Dropped(FailureKind.CONNECTION_RESET, received)
            received = True
            parser.feed_data(data)
        return (parser.get_status_code(), b"".join(proto.parts)), not proto.close
    finally:
        # parser <-> proto is a reference cycle: left to the cyclic GC, a few thousand of these a
        # second make full collections (and their pauses) frequent.
        proto.parser = None


def _close(sock: gevent.socket.socket | None) -> None:
    if sock is not None:
        sock.close()
