"""A user at a shell: the installed `hanbit-drill` on PATH, a fresh directory, default options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme
from doc_examples import ROOT


def user_env() -> dict[str, str]:
    """The user's shell: this interpreter's scripts first on PATH (where `pip install -e .` put the
    command), an 80-column terminal, and nothing of pytest's working directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def shell(command: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`command` as typed at a bash prompt in `cwd`; stdout and stderr together, as a terminal shows them."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=user_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def fresh_checkout(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "scenarios.yaml", path / "scenarios.yaml")
    return path


@contextmanager
def served_over_tls(cwd: Path, regions: int) -> Iterator[str]:
    """`hanbit-drill serve --tls-cert/--tls-key` typed in `cwd` with a test CA's certificate for 127.0.0.1
    (the CA in certs/ca.pem, data in data/); yields the HTTPS URL it prints once every region serves."""
    certs = cwd / "certs"
    certs.mkdir()
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(certs / "ca.pem")
    issued.cert_chain_pems[0].write_to_path(certs / "cert.pem")
    issued.private_key_pem.write_to_path(certs / "key.pem")
    log = (cwd / "serve.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-c", f"exec hanbit-drill serve --port 0 --regions {regions} --data-dir data "
                       "--tls-cert certs/cert.pem --tls-key certs/key.pem"],
        cwd=cwd, env=user_env(), stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:"), (url, (cwd / "serve.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
