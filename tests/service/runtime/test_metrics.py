"""/metrics: Prometheus text with requests, errors by status and latency histograms per route."""

from __future__ import annotations

import re

from service.runtime.metrics import BUCKETS, Metrics

_SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? (?P<value>\S+)$')


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m["labels"] or ""))
        samples[(m["name"], labels)] = float(m["value"])
    return samples


def _get(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counts_errors_and_histograms_per_route(client, make_user) -> None:
    alice = make_user("alice")
    todo = client.post("/todos", json={"title": "t"}, headers=alice.auth).json()
    for _ in range(3):
        client.get(f"/todos/{todo['id']}", headers=alice.auth)
    client.get("/todos/missing", headers=alice.auth)
    client.get("/todos")  # 401
    client.get("/no/such/route")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    s = parse(r.text)
    route = "/todos/{id}"
    assert _get(s, "hanbit_http_requests_total", route=route, method="GET", status="200") == 3
    assert _get(s, "hanbit_http_requests_total", route=route, method="GET", status="404") == 1
    assert _get(s, "hanbit_http_errors_total", route=route, method="GET", status="404") == 1
    assert _get(s, "hanbit_http_errors_total", route=route, method="GET", status="200") == 0
    assert _get(s, "hanbit_http_errors_total", route="/todos", method="GET", status="401") == 1
    assert _get(s, "hanbit_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert _get(s, "hanbit_http_requests_total", route="/auth/token", method="POST", status="200") == 1
    # histogram: cumulative buckets, +Inf == count == requests of the route
    buckets = [_get(s, "hanbit_http_request_duration_seconds_bucket", route=route, method="GET", le=repr(b))
               for b in BUCKETS]
    inf = _get(s, "hanbit_http_request_duration_seconds_bucket", route=route, method="GET", le="+Inf")
    assert buckets == sorted(buckets) and inf == 4
    assert _get(s, "hanbit_http_request_duration_seconds_count", route=route, method="GET") == 4
    assert _get(s, "hanbit_http_request_duration_seconds_sum", route=route, method="GET") > 0
    assert _get(s, "hanbit_function_invocations_total", function="todo-api", version="1") >= 5
    assert _get(s, "hanbit_workers") == 1


def test_observations_land_in_the_right_bucket() -> None:
    m = Metrics()
    m.observe("/x", "GET", 200, 0.001)  # exactly on a bound: le="0.001" counts it
    m.observe("/x", "GET", 200, 0.3)
    m.observe("/x", "GET", 500, 60.0)
    s = parse(m.render())
    b = lambda le: _get(s, "hanbit_http_request_duration_seconds_bucket", route="/x", method="GET", le=le)  # noqa: E731
    assert (b("0.001"), b("0.2"), b("0.5"), b("10.0"), b("+Inf")) == (1, 1, 2, 2, 3)
    assert _get(s, "hanbit_http_errors_total", route="/x", method="GET", status="500") == 1


def test_workers_snapshots_are_merged(tmp_path) -> None:
    mine, other = Metrics(tmp_path), Metrics(tmp_path)
    other.pid = mine.pid + 1  # another worker process
    for _ in range(2):
        mine.observe("/health", "GET", 200, 0.002)
    for _ in range(5):
        other.observe("/health", "GET", 200, 0.004)
    other.invocation("todo-api", "1", failed=True)
    other.save_snapshot()
    s = parse(mine.render())
    assert _get(s, "hanbit_http_requests_total", route="/health", method="GET", status="200") == 7
    assert _get(s, "hanbit_http_request_duration_seconds_bucket", route="/health", method="GET", le="0.0025") == 2
    assert _get(s, "hanbit_http_request_duration_seconds_bucket", route="/health", method="GET", le="0.005") == 7
    assert _get(s, "hanbit_function_errors_total", function="todo-api", version="1") == 1
    assert _get(s, "hanbit_workers") == 2
    # a worker's own stale snapshot is never counted twice
    mine.save_snapshot()
    s = parse(mine.render())
    assert _get(s, "hanbit_http_requests_total", route="/health", method="GET", status="200") == 7
