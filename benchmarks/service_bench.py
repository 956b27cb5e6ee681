"""Throughput, tail latency, memory and 10k keep-alive connections of the bundled service.

    python benchmarks/service_bench.py [--duration 10] [--rounds 3] [--connections 64] [--workers 2]

Starts a bare ASGI hello-world, the issue's minimal prototype of the same shape and the
service on the same uvicorn stack (uvloop + httptools, one send per response, same worker
count), drives them with `wrk` (prototype and service with an authenticated mix: 70 % GET
by id, 20 % list, 10 % create), and prints RPS, latency percentiles, RPS as a ratio to
hello-world and to the prototype measured in the same rounds (rounds alternate the
servers; the verdict is the median round), RSS per worker
after the run, and a 10,000-connection keep-alive hold test. Everything binds
127.0.0.1 and is stopped at the end. CPU on a shared machine is noisy: compare the
ratio, not the absolute numbers, across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service_prototype import SCHEMA  # noqa: E402  (this directory is on the path when run as a script)

from service.launcher import ServiceProcess  # noqa: E402

TARGET_RPS = 8000
# The issue calibrated its target on this machine with a minimal prototype of the same shape:
# about 11,900 RPS. The machine is shared, so the target is also judged as that share of the
# prototype (benchmarks/service_prototype.py) measured in the same rounds.
ISSUE_PROTOTYPE_RPS = 11_900
TARGET_P99_MS = 25.0
TARGET_RSS_MB = 200
HOST = "127.0.0.1"

_DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(need, soft)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# ---- the two servers ------------------------------------------------------------------------


class AsgiServer:
    """A benchmarks/ ASGI app under uvicorn with the service's own server settings."""

    def __init__(self, app: str, workers: int, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--app-dir", str(ROOT / "benchmarks"),
             "--host", HOST, "--port", str(self.port), "--workers", str(workers), "--loop", "uvloop",
             "--http", "service.runtime.http_protocol:SingleWriteHttpToolsProtocol", "--no-access-log",
             "--log-level", "warning", "--no-server-header", "--no-proxy-headers",
             "--timeout-keep-alive", "75", "--backlog", "8192"],
            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{app} did not start")

    @property
    def worker_pids(self) -> list[int]:
        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


def prototype_server(work: Path, workers: int, users: int, todos_per_user: int) -> tuple[AsgiServer, list[dict]]:
    """benchmarks/service_prototype.py with its own table seeded like the service's, and tokens."""
    key = os.urandom(32).hex()
    db = work / "prototype.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(SCHEMA)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    seeded = []
    for n in range(users):
        sub = f"user-{n:03d}"
        ids = [f"seed-{n:03d}-{i:04d}" for i in range(todos_per_user)]
        conn.executemany("INSERT INTO todos VALUES (?, ?, ?, 0, NULL, 'normal', ?, ?)",
                         [(sub, i, f"seed {i}", now, now) for i in ids])
        token = jwt.encode({"sub": sub, "exp": int(time.time()) + 3600}, key.encode(), algorithm="HS256")
        seeded.append({"token": token, "ids": ids})
    conn.commit()
    conn.close()
    env = {"PROTO_DB": str(db), "PROTO_LOG": str(work / "prototype.log"), "PROTO_KEY": key}
    return AsgiServer("service_prototype:app", workers, env), seeded


def seed(url: str, users: int, todos_per_user: int) -> list[dict]:
    """Users with tokens and todo ids, made through the public API."""
    seeded = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for n in range(users):
            creds = {"username": f"bench{n:03d}", "password": "bench-password"}
            http.post("/auth/signup", json=creds).raise_for_status()
            token = http.post("/auth/token", json=creds).raise_for_status().json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            ids = []
            for i in range(todos_per_user):
                r = http.post("/todos", json={"title": f"seed {i}", "id": f"seed-{n:03d}-{i:04d}"}, headers=auth)
                r.raise_for_status()
                ids.append(r.json()["id"])
            seeded.append({"token": token, "ids": ids})
    return seeded


def mix_script(users: list[dict], *, prepared: int = 4096) -> str:
    """wrk Lua for the mix. Each thread formats `prepared` requests once (users, ids and kinds
    drawn at random) and then cycles through them, so wrk spends its CPU on the wire, not in Lua."""
    lua_users = ",\n".join(
        '{token="%s", ids={%s}}' % (u["token"], ",".join(f'"{i}"' for i in u["ids"])) for u in users
    )
    return f"""
local users = {{
{lua_users}
}}
local thread_no = 0
local prepared = {{}}
local n_prepared = {prepared}
local cursor = 0
setup = function(thread)
  thread_no = thread_no + 1
  thread:set("thread_no", thread_no)
end
init = function(args)
  math.randomseed(1000 + (thread_no or 0))
  for i = 1, n_prepared do
    local u = users[math.random(#users)]
    local headers = {{["Authorization"] = "Bearer " .. u.token, ["Content-Type"] = "application/json"}}
    local r = math.random(100)
    if r <= 70 then
      prepared[i] = wrk.format("GET", "/todos/" .. u.ids[math.random(#u.ids)], headers)
    elseif r <= 90 then
      prepared[i] = wrk.format("GET", "/todos?limit=20", headers)
    else
      prepared[i] = wrk.format("POST", "/todos", headers, '{{"title":"bench ' .. i .. '"}}')
    end
  end
end
request = function()
  cursor = cursor % n_prepared + 1
  return prepared[cursor]
end
""" + _DONE_LUA


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def run_wrk(url: str, script: Path, *, threads: int, connections: int, duration_s: int,
            server_pids: list[int], timeout_s: int = 5) -> dict:
    """One wrk run; also the server workers' CPU time per request (robust to a busy machine)."""
    cpu_before = cpu_seconds(server_pids)
    children_before = os.times()
    proc = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", f"--timeout={timeout_s}s",
         "-s", str(script), url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.strip()}")
    children_after = os.times()  # wrk has been reaped: its CPU is in our children's times
    wrk_cpu = (children_after.children_user - children_before.children_user
               + children_after.children_system - children_before.children_system)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK_JSON "))
    result = json.loads(line[len("WRK_JSON "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    result["server_cpu_us_per_request"] = (cpu_seconds(server_pids) - cpu_before) / max(1, result["requests"]) * 1e6
    result["wrk_cpu_us_per_request"] = wrk_cpu / max(1, result["requests"]) * 1e6
    return result


# ---- 10k keep-alive connections -------------------------------------------------------------


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def hold_connections(url: str, count: int, hold_s: float, worker_pids: list[int]) -> dict:
    port = int(url.rsplit(":", 1)[1])
    request = f"GET /health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    gate = asyncio.Semaphore(500)  # connect in waves: a 10k SYN burst only measures the SYN queue
    errors: dict[str, int] = {}

    def fail(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def open_one() -> tuple | None:
        async with gate:
            try:
                return await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
            except (OSError, asyncio.TimeoutError) as exc:
                fail(f"connect:{type(exc).__name__}")
                return None

    async def round_trip(conn: tuple) -> bool:
        try:
            status = await asyncio.wait_for(_exchange(conn[0], conn[1], request), 60)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            fail(f"request:{type(exc).__name__}")
            return False
        if status != 200:
            fail(f"http_{status}")
        return status == 200

    started = time.perf_counter()
    conns = [c for c in await asyncio.gather(*(open_one() for _ in range(count))) if c is not None]
    connect_s = time.perf_counter() - started
    t = time.perf_counter()
    first = sum(await asyncio.gather(*(round_trip(c) for c in conns)))
    first_round_s = time.perf_counter() - t
    await asyncio.sleep(hold_s / 2)
    server_side = 0
    for pid in worker_pids:
        server_side += sum(1 for c in psutil.Process(pid).net_connections("tcp")
                           if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
    await asyncio.sleep(hold_s / 2)
    closed_by_server = sum(1 for reader, _ in conns if reader.at_eof())
    t = time.perf_counter()
    second = sum(await asyncio.gather(*(round_trip(c) for c in conns)))
    second_round_s = time.perf_counter() - t
    for _, writer in conns:
        writer.close()
    return {
        "asked": count, "connected": len(conns), "connect_s": connect_s,
        "first_round_ok": first, "first_round_s": first_round_s,
        "held_server_side": server_side, "closed_by_server": closed_by_server,
        "second_round_ok": second, "second_round_s": second_round_s, "errors": errors,
    }


# ---- report ---------------------------------------------------------------------------------


def rss_mb(pids: list[int]) -> list[float]:
    return [psutil.Process(pid).memory_info().rss / 2**20 for pid in pids]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="hello-world / service rounds, alternating")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--todos-per-user", type=int, default=100)
    parser.add_argument("--keepalive", type=int, default=10_000, help="connections to hold (0 = skip)")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds to hold them")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    raise_fd_limit(args.keepalive + 1000)  # inherited by both servers' workers
    figures: dict = {"cpus": os.cpu_count(), "load_avg_before": os.getloadavg()[0], "workers": args.workers}
    work = Path(tempfile.mkdtemp(prefix="hanbit-bench-"))
    hello = AsgiServer("service_hello:app", args.workers)
    prototype, prototype_users = prototype_server(work, args.workers, args.users, args.todos_per_user)
    service = ServiceProcess(work / "data", port=0, workers=args.workers)
    try:
        service.start()
        assert service.info is not None
        users = seed(service.url, args.users, args.todos_per_user)
        mix = work / "mix.lua"
        mix.write_text(mix_script(users))
        prototype_mix = work / "prototype-mix.lua"
        prototype_mix.write_text(mix_script(prototype_users))
        plain = work / "plain.lua"
        plain.write_text(_DONE_LUA)
        common = {"threads": args.threads, "connections": args.connections}
        hello_pids, prototype_pids = hello.worker_pids, prototype.worker_pids
        pids = service.info.worker_pids
        run_wrk(hello.url, plain, duration_s=args.warmup, server_pids=hello_pids, **common)
        run_wrk(prototype.url, prototype_mix, duration_s=args.warmup, server_pids=prototype_pids, **common)
        run_wrk(service.url, mix, duration_s=args.warmup, server_pids=pids, **common)
        # Rounds alternate the servers, so a neighbour's burst on this shared machine hits them
        # alike; the verdict takes the median round.
        rounds = []
        for _ in range(args.rounds):
            hello_run = run_wrk(hello.url, plain, duration_s=args.duration, server_pids=hello_pids, **common)
            prototype_run = run_wrk(prototype.url, prototype_mix, duration_s=args.duration,
                                    server_pids=prototype_pids, **common)
            service_run = run_wrk(service.url, mix, duration_s=args.duration, server_pids=pids, **common)
            rounds.append({"hello": hello_run, "prototype": prototype_run, "service": service_run,
                           "ratio": service_run["rps"] / hello_run["rps"],
                           "prototype_ratio": service_run["rps"] / prototype_run["rps"]})
        figures["rounds"] = rounds
        median = sorted(rounds, key=lambda r: r["service"]["rps"])[len(rounds) // 2]
        figures.update(median)
        figures["rss_mb_after_mix"] = rss_mb(service.info.worker_pids)
        if args.keepalive:
            figures["keepalive"] = asyncio.run(
                hold_connections(service.url, args.keepalive, args.hold, service.info.worker_pids))
            figures["rss_mb_after_keepalive"] = rss_mb(service.info.worker_pids)
        alive = [psutil.pid_exists(p) for p in service.info.worker_pids]
        figures["workers_survived"] = all(alive)
    finally:
        service.stop()
        prototype.stop()
        hello.stop()
    log_lines = sum(1 for _ in open(service.settings.log_file, "rb"))
    figures["log_lines"] = log_lines
    shutil.rmtree(work, ignore_errors=True)
    report(figures, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def report(f: dict, args: argparse.Namespace) -> None:
    h, p, s = f["hello"], f["prototype"], f["service"]
    ms = 1000.0
    print(f"\nbundled service benchmark: {f['workers']} workers, wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration}s, {f['cpus']} CPUs, load average before {f['load_avg_before']:.2f}")
    for i, r in enumerate(f["rounds"], 1):
        print(f"  round {i}: hello-world {r['hello']['rps']:.0f} RPS, prototype {r['prototype']['rps']:.0f} RPS, "
              f"service {r['service']['rps']:.0f} RPS (p99 {r['service']['p99_us'] / 1000:.1f} ms, server CPU "
              f"{r['service']['server_cpu_us_per_request']:.0f} us/req); service / hello-world {r['ratio']:.3f}, "
              f"service / prototype {r['prototype_ratio']:.2f}")
    print("median round (by service RPS), in full:")
    print(f"{'':22}{'RPS':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
          f"{'CPU us/req: server':>20}{'wrk':>6}")
    for name, r in (("hello-world (bare)", h), ("prototype (mix)", p), ("service (auth mix)", s)):
        print(f"{name:22}{r['rps']:>10.0f}{r['p50_us'] / ms:>9.2f}{r['p90_us'] / ms:>9.2f}"
              f"{r['p99_us'] / ms:>9.2f}{r['max_us'] / ms:>9.2f}{r['errors']:>8}"
              f"{r['server_cpu_us_per_request']:>20.1f}{r['wrk_cpu_us_per_request']:>6.1f}")
    print(f"service / hello-world RPS ratio: {f['ratio']:.3f}")
    share = TARGET_RPS / ISSUE_PROTOTYPE_RPS
    print(f"service / prototype RPS ratio: {f['prototype_ratio']:.2f} (the issue's target is {share:.2f} of a "
          f"prototype at {ISSUE_PROTOTYPE_RPS:,}: {f['prototype_ratio'] * ISSUE_PROTOTYPE_RPS:,.0f} RPS at that "
          f"calibration)")
    rss = ", ".join(f"{v:.0f}" for v in f["rss_mb_after_mix"])
    print(f"RSS per worker after the mix: {rss} MB")
    verdicts = [
        (f"RPS >= {TARGET_RPS}", s["rps"] >= TARGET_RPS),
        (f"RPS >= {TARGET_RPS / ISSUE_PROTOTYPE_RPS:.2f} x the prototype in the same round",
         f["prototype_ratio"] >= TARGET_RPS / ISSUE_PROTOTYPE_RPS),
        (f"p99 < {TARGET_P99_MS:.0f} ms", s["p99_us"] / ms < TARGET_P99_MS),
        ("no errors in the mix", s["errors"] == 0),
        (f"RSS < {TARGET_RSS_MB} MB per worker", max(f["rss_mb_after_mix"]) < TARGET_RSS_MB),
    ]
    k = f.get("keepalive")
    if k:
        print(f"keep-alive: {k['connected']}/{k['asked']} connected in {k['connect_s']:.1f} s; "
              f"round 1 {k['first_round_ok']} OK in {k['first_round_s']:.1f} s; "
              f"{k['held_server_side']} established server-side while held; "
              f"{k['closed_by_server']} closed by the server; "
              f"round 2 after {args.hold:g} s: {k['second_round_ok']} OK in {k['second_round_s']:.1f} s; "
              f"errors {k['errors'] or 0}")
        rss_k = ", ".join(f"{v:.0f}" for v in f["rss_mb_after_keepalive"])
        print(f"RSS per worker holding {k['asked']} connections: {rss_k} MB")
        verdicts.append((f"{k['asked']} keep-alive connections, no errors",
                         k["second_round_ok"] == k["asked"] and k["first_round_ok"] == k["asked"]
                         and not k["errors"]))
        verdicts.append((f"RSS < {TARGET_RSS_MB} MB per worker after all", max(f["rss_mb_after_keepalive"]) < TARGET_RSS_MB))
    verdicts.append(("workers survived", f["workers_survived"]))
    print(f"request log lines written: {f['log_lines']}")
    for name, ok in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {name}")


if __name__ == "__main__":
    sys.exit(main())
