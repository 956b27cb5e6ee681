"""`hanbit-drill load` against the bundled service serving HTTPS with a certificate of a test CA (trustme):
the same journeys with 0 errors when the CA is given; a clear refusal (exit 3) when it is not trusted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from common.errors import TargetError
from loadtests.accounts import AccountPool
from scenarios.cli import main
from service.launcher import ServiceProcess


@dataclass(frozen=True)
class TlsService:
    url: str
    ca_bundle: Path
    port: int


def write_cert(ca: trustme.CA, directory: Path, *names: str) -> tuple[Path, Path]:
    cert = ca.issue_cert(*names)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert.cert_chain_pems[0].write_to_path(cert_file)
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(cert_file, append=True)
    cert.private_key_pem.write_to_path(key_file)
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsService]:
    """The bundled service alone (one worker, cheap password hashing), HTTPS for 127.0.0.1 only."""
    certs = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    ca_bundle = certs / "ca.pem"
    ca.cert_pem.write_to_path(ca_bundle)
    cert_file, key_file = write_cert(ca, certs, "127.0.0.1")
    svc = ServiceProcess(tmp_path_factory.mktemp("service"), port=0, workers=1, password_cost_log2=10,
                         tls_cert=cert_file, tls_key=key_file)
    url = svc.start(timeout_s=120)
    try:
        assert svc.info is not None
        yield TlsService(url, ca_bundle, svc.info.port)
    finally:
        svc.stop()


def test_load_over_https_with_the_test_ca(tls_service: TlsService, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert tls_service.url.startswith("https://127.0.0.1:")
    out = tmp_path / "summary.json"
    code = main(["load", "--rps", "20", "--duration", "3s", "--accounts", "2", "--target", tls_service.url,
                 "--ca-bundle", str(tls_service.ca_bundle), "--json", str(out), "--report-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(out.read_text())
    assert (summary["requests"], summary["failures"], summary["target_rps"]) == (60, {}, 20)


def test_a_plan_file_names_the_ca_bundle_relative_to_itself(tls_service: TlsService, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ca.pem").write_bytes(tls_service.ca_bundle.read_bytes())
    (plans / "tls.yaml").write_text("load:\n  rps: 10\n  duration_s: 2s\n  accounts: 1\n  ca_bundle: ca.pem\n")
    out = tmp_path / "summary.json"
    code = main(["load", "--plan", str(plans / "tls.yaml"), "--target", tls_service.url, "--json", str(out),
                 "--report-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["failures"] == {}


def test_an_untrusted_certificate_is_a_clear_target_error(tls_service: TlsService, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(other_ca)
    for extra in ([], ["--ca-bundle", str(other_ca)]):  # the system trust store, then another private CA
        code = main(["load", "--rps", "5", "--duration", "1s", "--target", tls_service.url, *extra,
                     "--report-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 3
        assert "certificate for 127.0.0.1 not trusted" in err and "--ca-bundle" in err
        assert "Traceback" not in err


def test_a_certificate_for_another_name_is_told_as_such(tls_service: TlsService, tmp_path: Path) -> None:
    """The certificate names 127.0.0.1; https://localhost is not a name it is valid for."""
    pool = AccountPool(f"https://localhost:{tls_service.port}", tmp_path, 1, 10,
                       ca_bundle=str(tls_service.ca_bundle))
    with pytest.raises(TargetError, match=r"certificate for localhost not trusted: Hostname mismatch"):
        pool.prepare()


def test_a_ca_bundle_that_is_not_pem_is_invalid_input(tls_service: TlsService, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    for bundle in (garbage, tmp_path / "missing.pem"):
        code = main(["load", "--rps", "5", "--duration", "1s", "--target", tls_service.url,
                     "--ca-bundle", str(bundle), "--report-dir", str(tmp_path)])
        assert code == 2
        assert f"CA bundle {bundle}" in capsys.readouterr().err
