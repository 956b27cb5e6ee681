"""ServedRegionSampler: which region answers the clients' path, once a second, each time on a new connection."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import httpx

from loadtests.served_region import ServedRegionSampler


class _Health(BaseHTTPRequestHandler):
    region: str | None = "ap-northeast-2"
    status = 200
    connections: set[int] = set()

    def do_GET(self) -> None:  # noqa: N802
        _Health.connections.add(self.client_address[1])
        body = json.dumps({"status": "ok", "region": _Health.region} if _Health.region else {"message": "x"})
        self.send_response(_Health.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_each_second_names_the_region_that_answered_or_why_none_did() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seconds = count(1_000_000)
    url = f"http://127.0.0.1:{server.server_address[1]}/prod"
    sampler = ServedRegionSampler(url, clock=lambda: float(next(seconds)))
    try:
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            sampler.sample_once(client)
            _Health.region, _Health.status = None, 429  # the primary throttled: no region in the answer
            sampler.sample_once(client)
            _Health.region, _Health.status = "ap-northeast-1", 200  # failed over
            sampler.sample_once(client)
    finally:
        server.shutdown()
    assert sampler.samples() == {
        1_000_000: "ap-northeast-2",
        1_000_001: "no answer (HTTP 429)",
        1_000_002: "ap-northeast-1",
    }
    assert len(_Health.connections) == 3  # a new connection (and DNS lookup) for every sample


def test_an_unreachable_name_is_recorded_and_the_thread_stops() -> None:
    sampler = ServedRegionSampler("http://127.0.0.1:9/prod", interval_s=0.01, timeout_s=0.5)
    sampler.start()
    threading.Event().wait(0.1)
    found = sampler.stop()
    assert found and set(found.values()) == {"no answer (ConnectError)"}
    assert sampler._thread is not None and not sampler._thread.is_alive()
