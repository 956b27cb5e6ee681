"""`serve --tls-cert/--tls-key`: the bundled service over HTTPS, one region alone and two behind the edge.

TLS ends in the regions' uvicorn workers and the edge pipes the encrypted bytes; the supervisor's own
probes (region up, public port answering, the edge's health checks) speak TLS to them, so failover
works as over HTTP. Certificates come from a test CA made here (trustme)."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from service.launcher import ServiceProcess
from service.regions.layout import DeploymentReady

ROOT = Path(__file__).resolve().parents[2]
PRIMARY, SECONDARY = "ap-northeast-2", "ap-northeast-1"
Certs = tuple[Path, Path, Path]  # CA bundle, certificate, key
Regions = tuple[DeploymentReady, httpx.Client]  # the deployment, a client of its control API


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """(CA bundle, certificate, key) for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(directory / "ca.pem")
    issued.cert_chain_pems[0].write_to_path(directory / "cert.pem")
    issued.private_key_pem.write_to_path(directory / "key.pem")
    return directory / "ca.pem", directory / "cert.pem", directory / "key.pem"


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Regions]:
    _, cert, key = certs
    data_dir = tmp_path_factory.mktemp("tls-regions")
    process = ServiceProcess(data_dir, port=0, workers=1, regions=2, password_cost_log2=10,
                             tls_cert=cert, tls_key=key)
    process.start(timeout_s=120)
    try:
        assert process.ready is not None
        token = (data_dir / "admin.token").read_text().strip()
        with httpx.Client(base_url=process.ready.control_url, headers={"authorization": f"Bearer {token}"},
                          timeout=60) as control:
            yield process.ready, control
    finally:
        process.stop()


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_every_public_url_is_https_and_verifies_with_the_ca(two_regions: Regions, certs: Certs) -> None:
    ready, _ = two_regions
    ca_bundle = certs[0]
    assert ready.url.startswith("https://127.0.0.1:")
    assert all(url.startswith("https://") for url in ready.regions.values())
    assert ready.control_url.startswith("http://")  # the control plane stays plain HTTP on loopback
    tls = ssl.create_default_context(cafile=str(ca_bundle))
    for url in (ready.url, *ready.regions.values()):
        assert httpx.get(url + "/health", verify=tls, timeout=10).status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(ready.url + "/health", timeout=10)  # the system trust store knows no test CA


def test_health_checks_speak_tls_and_a_refused_primary_fails_over(two_regions: Regions, certs: Certs) -> None:
    ready, control = two_regions
    tls = ssl.create_default_context(cafile=str(certs[0]))
    control.put("/control/edge", json={"interval_s": 0.2, "failure_threshold": 2}).raise_for_status()

    def edge() -> dict[str, Any]:
        return control.get("/control/edge").json()

    _wait(lambda: all(h["checks"] > 2 and h["last_error"] is None for h in edge()["health"].values()))
    control.put(f"/control/regions/{PRIMARY}", json={"status": "refuse"}).raise_for_status()
    try:
        _wait(lambda: edge()["serving"] == SECONDARY)
        # A new connection through the edge reaches the secondary, TLS and all.
        assert httpx.get(ready.url + "/health", verify=tls, timeout=10).json()["region"] == SECONDARY
    finally:
        control.put(f"/control/regions/{PRIMARY}", json={"status": "up"}).raise_for_status()
    _wait(lambda: edge()["serving"] == PRIMARY and all(h["healthy"] for h in edge()["health"].values()))


@pytest.mark.parametrize("flags, message", [
    (["--tls-cert", "{cert}"], "tls_cert and tls_key"),
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], "No such file"),
    (["--tls-cert", "{key}", "--tls-key", "{key}"], "--tls-cert"),  # a key is no certificate
])
def test_bad_certificate_flags_are_refused_before_anything_starts(
        flags: list[str], message: str, certs: Certs, tmp_path: Path) -> None:
    _, cert, key = certs
    names = {"cert": cert, "key": key, "missing": tmp_path / "missing.pem"}
    argv = [arg.format(**names) for arg in flags]
    for regions in (["--regions", "2"], ["--no-control"]):
        proc = subprocess.run(
            [sys.executable, "-m", "service", "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
             *regions, *argv], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
