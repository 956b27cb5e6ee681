"""TLS on the client side, one policy for every client of the harness (load, account pool, read-back).

Certificates are always verified: against the system's trust store, or, for a private CA (a test CA,
a company's internal one), against exactly the CAs of a bundle file, as `curl --cacert` does. Host
names are checked (SNI is sent for names, IP addresses are matched against the certificate's IP
entries). A certificate that is not trusted is the target's problem, told in one sentence.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from common.errors import InvalidInputError

# OpenSSL's verify codes of a certificate that is valid but names other hosts: no CA bundle helps.
_NAME_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


def client_context(
    ca_bundle: str | Path | None = None,
    *,
    cadata: str | None = None,
    context_class: type[ssl.SSLContext] = ssl.SSLContext,
) -> ssl.SSLContext:
    """A verifying client context. `ca_bundle` (a PEM file) or `cadata` (its text) replace the system
    trust store; `context_class` is gevent's SSLContext for the gevent client (its sockets cooperate)."""
    context = context_class(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname on, CERT_REQUIRED
    if ca_bundle is None and cadata is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return context
    try:
        context.load_verify_locations(cafile=None if ca_bundle is None else str(ca_bundle), cadata=cadata)
    except (OSError, ssl.SSLError, ValueError) as exc:
        where = f"CA bundle {ca_bundle}" if ca_bundle is not None else "CA bundle"
        raise InvalidInputError(f"{where}: not a readable PEM file of CA certificates ({_reason(exc)})") from None
    return context


def read_ca_bundle(path: str | Path) -> str:
    """The bundle's PEM text, checked to hold certificates: what travels to the load's worker processes
    (those on other machines have no access to the file)."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"CA bundle {path}: {_reason(exc)}") from None
    client_context(path)
    return text


def find_tls_error(exc: BaseException) -> ssl.SSLError | None:
    """The ssl error behind a client library's exception (httpx wraps it as a ConnectError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def describe_tls_error(host: str, exc: ssl.SSLError) -> str:
    """One sentence for the user: which host, what was wrong, what to do about it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or _reason(exc)
        if exc.verify_code in _NAME_MISMATCH:
            return f"certificate for {host} not trusted: {detail} (the URL must name a host the certificate is for)"
        return (f"certificate for {host} not trusted: {detail} (a private CA: give its certificate with "
                f"--ca-bundle FILE or the target's `ca_bundle`)")
    return f"TLS with {host} failed: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return _SOURCE_LINE.sub("", str(text))


_SOURCE_LINE = re.compile(r"\s*\(_ssl\.c:\d+\)$")  # where in CPython's C code: noise to the user
