"""The real thing: `python -m service serve` with 2 uvicorn workers in a subprocess, over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from service.errors import ServiceError
from service.launcher import ServiceProcess
from service.server import ReadyInfo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = ServiceProcess(tmp_path_factory.mktemp("svc") / "data", port=0, workers=2, password_cost_log2=11)
    svc.start()
    yield svc
    svc.stop()


def _user(url: str, name: str) -> dict[str, str]:
    creds = {"username": name, "password": "s3cret-pass"}
    with httpx.Client(base_url=url) as http:
        assert http.post("/auth/signup", json=creds).status_code == 201
        token = http.post("/auth/token", json=creds).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_ready_file_names_the_real_port_and_the_workers(service) -> None:
    info = ReadyInfo.read(service.settings.ready_file)
    assert info is not None and info == service.info
    assert info.url == f"http://127.0.0.1:{info.port}" and info.port != 0
    assert info.pid == service.pid and len(info.worker_pids) == 2
    for pid in info.worker_pids:
        assert psutil.Process(pid).ppid() == service.pid
    # bound to loopback only
    listening = [c for pid in info.worker_pids for c in psutil.Process(pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == info.port]
    assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)


def test_todos_over_http_with_two_workers(service) -> None:
    auth = _user(service.url, "alice")
    ids = []
    for i in range(20):  # a fresh connection each time: the kernel spreads them over both workers
        r = httpx.post(f"{service.url}/todos", json={"title": f"t{i}", "id": f"id-{i:02d}"}, headers=auth)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    for todo_id in ids:
        assert httpx.get(f"{service.url}/todos/{todo_id}", headers=auth).json()["id"] == todo_id
    page = httpx.get(f"{service.url}/todos", params={"limit": "100"}, headers=auth).json()
    assert [t["id"] for t in page["items"]] == ids


def test_revocation_and_lockout_hold_across_workers(service) -> None:
    auth = _user(service.url, "bob")
    assert httpx.post(f"{service.url}/auth/revoke", headers=auth).status_code == 200
    statuses = {httpx.get(f"{service.url}/todos", headers=auth).status_code for _ in range(20)}
    assert statuses == {401}
    bad = {"username": "bob", "password": "wrong-password"}
    codes = [httpx.post(f"{service.url}/auth/token", json=bad).status_code for _ in range(12)]
    assert codes == [401] * 10 + [429] * 2


def test_metrics_add_up_over_both_workers(service) -> None:
    time.sleep(1.5)  # let each worker publish its latest snapshot (every ~1 s)
    before = _total(httpx.get(f"{service.url}/metrics").text)
    for _ in range(30):
        httpx.get(f"{service.url}/health")
    time.sleep(1.5)
    text = httpx.get(f"{service.url}/metrics").text
    assert _total(text) - before == 30 + 1  # the 30 health checks and the first scrape
    assert "hanbit_workers 2" in text


def _total(text: str) -> int:
    return sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("hanbit_http_requests_total{"))


def test_one_log_line_per_request_from_both_workers(service) -> None:
    log = service.settings.log_file
    time.sleep(0.5)
    before = log.read_bytes().count(b"\n")
    for _ in range(25):
        httpx.get(f"{service.url}/health")
    deadline = time.time() + 5
    while log.read_bytes().count(b"\n") < before + 25 and time.time() < deadline:
        time.sleep(0.1)
    assert log.read_bytes().count(b"\n") == before + 25
    for line in log.read_bytes().splitlines():
        assert line.startswith(b'{"timestamp":') and line.endswith(b"}")  # never interleaved mid-line


def test_stop_ends_every_process_and_removes_the_ready_file(tmp_path) -> None:
    svc = ServiceProcess(tmp_path / "data", port=0, workers=2)
    url = svc.start()
    pids = [svc.pid, *svc.info.worker_pids]
    assert svc.stop() == 0  # SIGTERM: a clean shutdown
    assert not svc.settings.ready_file.exists()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=1)


def test_port_in_use_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        svc = ServiceProcess(tmp_path / "data", port=port, workers=1)
        with pytest.raises(ServiceError, match=f"cannot listen on 127.0.0.1:{port}"):
            svc.start()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scenarios.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_cli_rejects_bad_flags_with_exit_2() -> None:
    r = _cli("serve", "--workers", "0")
    assert r.returncode == 2 and "--workers" in r.stderr and "Traceback" not in r.stderr
    r = _cli("serve", "--region", "mars")
    assert r.returncode == 2 and "--region" in r.stderr


def test_cli_serve_prints_its_url_and_stops_on_ctrl_c(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "serve", "--port", "0", "--workers", "1",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert not (tmp_path / "data" / "run" / "service.json").exists()
