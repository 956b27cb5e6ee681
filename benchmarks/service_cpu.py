"""CPU cost per request of the service vs a bare ASGI hello-world, without the network.

    python benchmarks/service_cpu.py [--requests 20000]

Feeds raw HTTP/1.1 requests to the service's uvicorn httptools protocol over an in-memory
transport, in one process, so the figure is the CPU the server stack spends per request
(uvicorn + gateway + function + SQLite + log line + metrics), free of socket and
scheduler noise. Prints microseconds per request for each route and the ratio to
hello-world measured in the same run. The wrk benchmark (service_bench.py) gives the
end-to-end RPS and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.app import build_gateway  # noqa: E402
from service.runtime.http_protocol import SingleWriteHttpToolsProtocol  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402


class MemoryTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.out += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Connection:
    """One keep-alive connection into uvicorn's protocol, answering one request at a time."""

    def __init__(self, app: object) -> None:
        config = uvicorn.Config(app, http="httptools", loop="none", access_log=False, log_level="warning",
                                server_header=False, proxy_headers=False, lifespan="off")
        config.load()
        self.protocol = SingleWriteHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
        self.transport = MemoryTransport()
        self.protocol.connection_made(self.transport)

    async def request(self, raw: bytes) -> bytes:
        self.transport.out.clear()
        self.protocol.data_received(raw)
        while not self.protocol.cycle or not self.protocol.cycle.response_complete:
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # the response leaves at the end of the loop iteration
        return bytes(self.transport.out)


def http(method: str, path: str, token: str | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080", "User-Agent: bench"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


ROUNDS = 9


async def _timed(conn: Connection, chunk: list[bytes], expect: bytes) -> float:
    start = time.process_time()
    for raw in chunk:
        answer = await conn.request(raw)
        if not answer.startswith(expect):
            raise RuntimeError(f"unexpected answer: {answer[:200]!r}")
    return (time.process_time() - start) / len(chunk) * 1e6


async def measure(hello: Connection, conn: Connection, requests: list[bytes], expect: bytes) -> tuple[float, float]:
    """Rounds alternate with hello-world, so both see the same machine. Returns the best absolute
    figure (other processes only ever add time) and the median ratio to hello-world."""
    for raw in requests[:200]:  # warm caches
        await conn.request(raw)
    per_round = max(1, len(requests) // ROUNDS)
    hello_requests = [http("GET", "/")] * per_round
    best, ratios = float("inf"), []
    for r in range(ROUNDS):
        chunk = requests[r * per_round:(r + 1) * per_round] or requests[:per_round]
        base = await _timed(hello, hello_requests, b"HTTP/1.1 200")
        cost = await _timed(conn, chunk, expect)
        best = min(best, cost)
        ratios.append(cost / base)
    return best, statistics.median(ratios)


async def run(n: int) -> dict[str, tuple[float, float]]:
    spec = importlib.util.spec_from_file_location("service_hello", ROOT / "benchmarks" / "service_hello.py")
    hello_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hello_module)
    hello = Connection(hello_module.app)

    data_dir = Path(tempfile.mkdtemp(prefix="hanbit-cpu-"))
    gateway = build_gateway(ServiceSettings(data_dir=data_dir, password_cost_log2=10))
    await gateway.startup()
    svc = Connection(gateway)
    creds = json.dumps({"username": "bench", "password": "bench-password"}).encode()
    await svc.request(http("POST", "/auth/signup", body=creds))
    answer = await svc.request(http("POST", "/auth/token", body=creds))
    token = json.loads(answer.split(b"\r\n\r\n", 1)[1])["access_token"]
    ids = [f"seed-{i:04d}" for i in range(100)]
    for todo_id in ids:
        await svc.request(http("POST", "/todos", token, json.dumps({"id": todo_id, "title": "seed"}).encode()))

    ok = b"HTTP/1.1 200"
    figures = {"hello-world": await measure(hello, hello, [http("GET", "/")] * n, ok)}
    figures["GET /health"] = await measure(hello, svc, [http("GET", "/health")] * n, ok)
    figures["GET /todos/{id}"] = await measure(
        hello, svc, [http("GET", f"/todos/{ids[i % 100]}", token) for i in range(n)], ok)
    figures["GET /todos?limit=20"] = await measure(hello, svc, [http("GET", "/todos?limit=20", token)] * (n // 4), ok)
    figures["POST /todos"] = await measure(
        hello, svc, [http("POST", "/todos", token, b'{"title": "bench %d"}' % i) for i in range(n // 2)],
        b"HTTP/1.1 201")
    weights = {"GET /todos/{id}": 0.7, "GET /todos?limit=20": 0.2, "POST /todos": 0.1}
    figures["mix 70/20/10"] = (sum(w * figures[k][0] for k, w in weights.items()),
                               sum(w * figures[k][1] for k, w in weights.items()))
    await gateway.shutdown()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    figures = asyncio.run(run(args.requests))
    print(f"\nserver CPU per request (in-process, uvicorn httptools protocol, {args.requests} requests, "
          f"best of {ROUNDS} rounds; ratio = median over rounds alternating with hello-world)")
    for name, (us, ratio) in figures.items():
        print(f"  {name:22} {us:8.1f} us   {ratio:5.2f} x hello-world")
    return 0


if __name__ == "__main__":
    sys.exit(main())
