"""The CI smoke drill over HTTPS: `hanbit-drill run ci-smoke` against the bundled service serving TLS with
a certificate of a test CA (trustme), the CA given by the target of the scenario file, as typed by a user.

The scenario file is the repository's, with its `serve` target pointed at the HTTPS service: url,
data_dir and ca_bundle, the last two relative to the file. The load, the account pool and the
read-back of the integrity check all trust that CA; without it the drill stops before any load with
a clear message and exit 3.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))  # the tests import with importlib: make as_user importable
from as_user import fresh_checkout, served_over_tls, shell  # noqa: E402

from verify.journal import Journal, RunStatus  # noqa: E402

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class TlsServe:
    cwd: Path
    url: str


@pytest.fixture(scope="module")
def tls_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServe]:
    """`hanbit-drill serve --regions 2` with a test CA's certificate for 127.0.0.1, in a fresh directory."""
    cwd = fresh_checkout(tmp_path_factory.mktemp("tls-drill"))
    with served_over_tls(cwd, regions=2) as url:
        yield TlsServe(cwd, url)


def scenario_file(cwd: Path, url: str, name: str, *, ca_bundle: str | None) -> str:
    """The repository's scenario file with `serve` at the HTTPS URL; written as `name` in `cwd`."""
    config = yaml.safe_load((cwd / "scenarios.yaml").read_text())
    target = {"kind": "bundled", "url": url, "data_dir": "data"}
    if ca_bundle is not None:
        target["ca_bundle"] = ca_bundle
    config["targets"]["serve"] = target
    (cwd / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return name


def test_ci_smoke_over_https_with_the_targets_ca(tls_serve: TlsServe) -> None:
    file = scenario_file(tls_serve.cwd, tls_serve.url, "tls.yaml", ca_bundle="certs/ca.pem")
    result = shell(f"hanbit-drill run ci-smoke --profile smoke --target serve --file {file} --report-dir runs",
                   tls_serve.cwd, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]
    (run_dir,) = (tls_serve.cwd / "runs").glob("2*/ci-smoke")
    journal = Journal.load(run_dir / "journal.json")
    assert journal.status is RunStatus.PASSED, journal.reason
    assert journal.service_url == tls_serve.url
    assert sum(s.requests for s in journal.series) > 0
    assert not any(s.failures for s in journal.series), [s.failures for s in journal.series if s.failures]
    assert journal.ledger is not None and journal.ledger.acknowledged > 0 and journal.ledger.lost == 0
    suite = ET.parse(run_dir / "junit.xml").getroot()
    cases = {case.get("name") for case in suite.iter("testcase")}
    assert {"slo-baseline", "availability", "integrity"} <= cases
    assert not any(case.find("failure") is not None for case in suite.iter("testcase"))


def test_without_the_ca_the_drill_is_a_clear_target_error(tls_serve: TlsServe) -> None:
    file = scenario_file(tls_serve.cwd, tls_serve.url, "untrusted.yaml", ca_bundle=None)
    result = shell(f"hanbit-drill run ci-smoke --profile smoke --target serve --file {file} "
                   f"--report-dir runs-untrusted", tls_serve.cwd, timeout=300)
    assert result.returncode == 3, result.stdout[-4000:]
    assert "certificate for 127.0.0.1 not trusted" in result.stdout
    assert "Traceback" not in result.stdout
