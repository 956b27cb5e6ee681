"""The client TLS policy: verified always, a CA bundle replaces the system store, errors told plainly."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from common.errors import InvalidInputError
from common.tls import client_context, describe_tls_error, find_tls_error, read_ca_bundle


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_port(ca: trustme.CA) -> Iterator[int]:
    """A TLS listener for 127.0.0.1 that completes handshakes (and nothing else)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def handshake(context: ssl.SSLContext, port: int, name: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name):
            pass


def test_a_bundle_replaces_the_system_store(ca: trustme.CA, tls_port: int, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(bundle)
    handshake(client_context(bundle), tls_port, "127.0.0.1")
    handshake(client_context(cadata=read_ca_bundle(bundle)), tls_port, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(client_context(), tls_port, "127.0.0.1")


def test_untrusted_and_wrong_name_messages(ca: trustme.CA, tls_port: int) -> None:
    with pytest.raises(ssl.SSLCertVerificationError) as untrusted:
        handshake(client_context(cadata=trustme.CA().cert_pem.bytes().decode()), tls_port, "127.0.0.1")
    message = describe_tls_error("127.0.0.1", untrusted.value)
    assert message.startswith("certificate for 127.0.0.1 not trusted: unable to get local issuer certificate")
    assert "--ca-bundle" in message

    with pytest.raises(ssl.SSLCertVerificationError) as wrong_name:
        handshake(client_context(cadata=ca.cert_pem.bytes().decode()), tls_port, "api.example.com")
    message = describe_tls_error("api.example.com", wrong_name.value)
    assert message.startswith("certificate for api.example.com not trusted: Hostname mismatch")
    assert "--ca-bundle" not in message  # no CA makes a certificate valid for another name


def test_the_ssl_error_is_found_behind_a_wrapping_exception() -> None:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    try:
        try:
            raise cause
        except ssl.SSLError as exc:
            raise ConnectionError("connect failed") from exc
    except ConnectionError as wrapped:
        assert find_tls_error(wrapped) is cause
    assert find_tls_error(ConnectionError("plain")) is None


@pytest.mark.parametrize("content", [None, "not a certificate\n", "\xff\xfe"])
def test_a_bad_bundle_is_invalid_input(content: str | None, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_text(content, encoding="latin-1")
    with pytest.raises(InvalidInputError, match=f"CA bundle {bundle}"):
        read_ca_bundle(bundle)
