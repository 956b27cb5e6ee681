"""Instructions and L1 cache misses per request, counted by cachegrind: a noise-free yardstick.

    python benchmarks/service_instructions.py [--requests 1000] [--kinds get,list,post,mix]

Timings on this shared machine wander by 10-30 % between runs, which hides a change worth a
few per cent. Instruction counts do not: valgrind's cachegrind runs the same in-process
workload as benchmarks/service_cpu.py (raw HTTP/1.1 into the service's uvicorn protocol)
twice, with W and W + N requests, and the difference divided by N is the cost of one
request, start-up excluded. The same is measured for the prototype and hello-world, so the
service's figures read as ratios. Needs valgrind (Debian: `apt-get install valgrind`);
about a minute per figure. Not a substitute for service_bench.py: cache misses that other
processes cause, and the kernel's work, are not in these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 300
EVENTS = ("Ir", "I1mr", "D1mr")  # instructions, L1 instruction misses, L1 data read misses


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _requests(sc: object, kind: str, n: int, token: str, ids: list[str]) -> list[bytes]:
    rnd = random.Random(7)  # the same requests in both runs of a figure
    out = []
    for i in range(n):
        k = kind
        if k == "mix":  # the benchmark mix: 70 % GET by id, 20 % list, 10 % create
            r = rnd.random()
            k = "get" if r < 0.7 else "list" if r < 0.9 else "post"
        if k == "get":
            out.append(sc.http("GET", f"/todos/{ids[rnd.randrange(len(ids))]}", token))
        elif k == "list":
            out.append(sc.http("GET", "/todos?limit=20", token))
        else:
            out.append(sc.http("POST", "/todos", token, b'{"title": "bench %d"}' % i))
    return out


async def _service_app(sc: object, work: Path) -> tuple[object, str, list[str]]:
    sys.path.insert(0, str(ROOT))
    from service.app import build_gateway
    from service.settings import ServiceSettings

    gateway = build_gateway(ServiceSettings(data_dir=work, password_cost_log2=10))
    await gateway.startup()
    conn = sc.Connection(gateway)
    creds = json.dumps({"username": "bench", "password": "bench-password"}).encode()
    await conn.request(sc.http("POST", "/auth/signup", body=creds))
    answer = await conn.request(sc.http("POST", "/auth/token", body=creds))
    token = json.loads(answer.split(b"\r\n\r\n", 1)[1])["access_token"]
    ids = [f"seed-{i:04d}" for i in range(100)]
    for todo_id in ids:
        await conn.request(sc.http("POST", "/todos", token, json.dumps({"id": todo_id, "title": "seed"}).encode()))
    return conn, token, ids


async def _prototype_app(sc: object, work: Path) -> tuple[object, str, list[str]]:
    import jwt

    key = "k" * 64
    os.environ.update({"PROTO_DB": str(work / "p.db"), "PROTO_LOG": str(work / "p.log"), "PROTO_KEY": key})
    proto = _load("service_prototype")
    db = sqlite3.connect(work / "p.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(proto.SCHEMA)
    ids = [f"seed-{i:04d}" for i in range(100)]
    stamp = "2026-01-01T00:00:00.000Z"
    db.executemany("INSERT INTO todos VALUES (?, ?, 'seed', 0, NULL, 'normal', ?, ?)",
                   [("u1", i, stamp, stamp) for i in ids])
    db.commit()
    db.close()
    proto._open()
    return sc.Connection(proto.app), jwt.encode({"sub": "u1", "exp": 2_000_000_000}, key.encode()), ids


async def _child(target: str, kind: str, n: int) -> None:
    """The measured process: build the app, warm up, answer n requests, exit."""
    sc = _load("service_cpu")
    work = Path(tempfile.mkdtemp(prefix="hanbit-instr-"))
    try:
        if target == "hello":
            conn, requests = sc.Connection(_load("service_hello").app), [sc.http("GET", "/")] * (WARM_UP + n)
        else:
            conn, token, ids = await (_service_app if target == "service" else _prototype_app)(sc, work)
            requests = _requests(sc, kind, WARM_UP + n, token, ids)
        for raw in requests:
            answer = await conn.request(raw)
            if not answer.startswith(b"HTTP/1.1 20"):
                raise RuntimeError(f"unexpected answer: {answer[:120]!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cachegrind(target: str, kind: str, n: int, out: Path) -> dict[str, int]:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}",
           sys.executable, __file__, "--child", target, kind, str(n)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts in both runs
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{target} {kind}: {done.stderr[-2000:]}")
    events: list[str] = []
    for line in out.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            return dict(zip(events, map(int, line.split()[1:]), strict=True))
    raise RuntimeError(f"no summary in {out}")


def per_request(target: str, kind: str, n: int, work: Path) -> dict[str, float]:
    with ThreadPoolExecutor(2) as pool:  # the two runs in parallel: valgrind is single-threaded
        short, long = pool.map(lambda m: _cachegrind(target, kind, m, work / f"{target}-{kind}-{m}.out"),
                               (0, n))
    return {e: (long[e] - short[e]) / n for e in EVENTS}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        import uvloop

        uvloop.install()
        asyncio.run(_child(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--kinds", default="get,list,post,mix")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hanbit-cg-"))
    try:
        hello = per_request("hello", "get", args.requests, work)
        print(f"per request ({args.requests} requests after {WARM_UP} to warm up; cachegrind):")
        print(f"  {'hello-world':22} {hello['Ir']:>9,.0f} instr  {hello['I1mr']:>7,.0f} I1 miss  "
              f"{hello['D1mr']:>7,.0f} D1 miss")
        for kind in args.kinds.split(","):
            svc = per_request("service", kind, args.requests, work)
            proto = per_request("prototype", kind, args.requests, work)
            for name, f in ((f"service {kind}", svc), (f"prototype {kind}", proto)):
                print(f"  {name:22} {f['Ir']:>9,.0f} instr  {f['I1mr']:>7,.0f} I1 miss  {f['D1mr']:>7,.0f} D1 miss")
            print(f"  {'':22} service / prototype: instructions {svc['Ir'] / proto['Ir']:.2f}, "
                  f"I1 misses {svc['I1mr'] / proto['I1mr']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
