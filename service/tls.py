"""HTTPS of the bundled service: the servers' certificate, and the service's probes of its own servers.

With `serve --tls-cert FILE --tls-key FILE` every region's uvicorn serves TLS with that certificate; with
two regions the edge keeps piping bytes, now encrypted ones, so TLS ends in the region that serves the
connection (as it would behind a TCP load balancer). The control API stays plain HTTP on loopback.

The service's own probes (is a region up, does the public port answer, the edge's health checks) go to
its own child processes on 127.0.0.1. They speak TLS, since the servers speak nothing else, but do not
verify the certificate: they ask whether the server answers, not who it is, and the service is given
no CA to verify its own certificate against (a test or private CA's certificate is for the clients).
"""

from __future__ import annotations

import functools
import re
import ssl
from pathlib import Path

from service.errors import ServiceSettingsError


def check_certificate(cert: Path, key: Path) -> None:
    """Fail before anything starts, with the file at fault, rather than as a region that never answers."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        detail = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(exc.strerror or exc))
        raise ServiceSettingsError(f"serve: --tls-cert {cert} / --tls-key {key}: {detail}") from None


@functools.cache
def probe_context() -> ssl.SSLContext:
    """Encrypting, not verifying: see the module's docstring. One context for every probe."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
