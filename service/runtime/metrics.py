"""Prometheus metrics kept in-process, merged across the worker processes of an instance.

Each worker counts in plain dicts (no locks: only the event-loop thread records) and
saves a snapshot to `<metrics dir>/<pid>.json` about once a second; /metrics renders
this worker's live counts plus the other workers' latest snapshots. Snapshots of
workers that died stay, so counters never go backwards.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

import orjson

# Latency bucket bounds (seconds), around the manual's 200 ms / 500 ms / 1 s thresholds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self, snapshot_dir: Path | None = None) -> None:
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None
        self.pid = os.getpid()
        self._requests: dict[tuple[str, str, int], int] = {}
        # (route, method) -> [count per bucket..., count above the last bound, sum of seconds]
        self._latency: dict[tuple[str, str], list[float]] = {}
        self._invocations: dict[tuple[str, str], list[int]] = {}  # (function, version) -> [n, errors]

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        hist = self._latency.get((route, method))
        if hist is None:
            hist = self._latency[(route, method)] = [0] * (len(BUCKETS) + 2)
        hist[bisect_left(BUCKETS, seconds)] += 1
        hist[-1] += seconds

    def invocation(self, function: str, version: str, *, failed: bool) -> None:
        counts = self._invocations.get((function, version))
        if counts is None:
            counts = self._invocations[(function, version)] = [0, 0]
        counts[0] += 1
        if failed:
            counts[1] += 1

    # ---- snapshots ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "rss_bytes": _rss_bytes(),
            "requests": [[r, m, s, n] for (r, m, s), n in self._requests.items()],
            "latency": [[r, m, h] for (r, m), h in self._latency.items()],
            "invocations": [[f, v, c[0], c[1]] for (f, v), c in self._invocations.items()],
        }

    def save_snapshot(self) -> None:
        if self.snapshot_dir is None:
            return
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.snapshot_dir / f"{self.pid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.snapshot()))
        os.replace(tmp, path)  # readers never see half a snapshot

    def _all_snapshots(self) -> list[dict]:
        snapshots = [self.snapshot()]
        if self.snapshot_dir is not None and self.snapshot_dir.is_dir():
            for path in self.snapshot_dir.glob("*.json"):
                if path.stem == str(self.pid):
                    continue
                try:
                    snapshots.append(orjson.loads(path.read_bytes()))
                except (OSError, orjson.JSONDecodeError):
                    continue  # replaced while we read it: next scrape has it
        return snapshots

    # ---- exposition ---------------------------------------------------------------------

    def render(self) -> str:
        snapshots = self._all_snapshots()
        requests: dict[tuple[str, str, int], int] = {}
        latency: dict[tuple[str, str], list[float]] = {}
        invocations: dict[tuple[str, str], list[int]] = {}
        for snap in snapshots:
            for r, m, s, n in snap["requests"]:
                requests[(r, m, s)] = requests.get((r, m, s), 0) + n
            for r, m, h in snap["latency"]:
                total = latency.setdefault((r, m), [0] * len(h))
                for i, v in enumerate(h):
                    total[i] += v
            for f, v, n, e in snap["invocations"]:
                total_inv = invocations.setdefault((f, v), [0, 0])
                total_inv[0] += n
                total_inv[1] += e
        out: list[str] = []
        out += _family("hanbit_http_requests_total", "counter",
                       "HTTP requests answered, by route, method and status.",
                       (f'{{route="{_label(r)}",method="{m}",status="{s}"}} {n}'
                        for (r, m, s), n in sorted(requests.items())))
        out += _family("hanbit_http_errors_total", "counter",
                       "HTTP responses with status >= 400, by route, method and status.",
                       (f'{{route="{_label(r)}",method="{m}",status="{s}"}} {n}'
                        for (r, m, s), n in sorted(requests.items()) if s >= 400))
        out.append("# HELP hanbit_http_request_duration_seconds Time from request to response, per route.")
        out.append("# TYPE hanbit_http_request_duration_seconds histogram")
        for (r, m), h in sorted(latency.items()):
            labels = f'route="{_label(r)}",method="{m}"'
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), h[:-1], strict=True):
                cumulative += int(count)
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(f'hanbit_http_request_duration_seconds_bucket{{{labels},le="{le}"}} {cumulative}')
            out.append(f"hanbit_http_request_duration_seconds_sum{{{labels}}} {h[-1]:.6f}")
            out.append(f"hanbit_http_request_duration_seconds_count{{{labels}}} {cumulative}")
        out += _family("hanbit_function_invocations_total", "counter",
                       "Function invocations, by function and version.",
                       (f'{{function="{f}",version="{_label(v)}"}} {c[0]}'
                        for (f, v), c in sorted(invocations.items())))
        out += _family("hanbit_function_errors_total", "counter",
                       "Invocations that failed (unhandled exception or malformed response).",
                       (f'{{function="{f}",version="{_label(v)}"}} {c[1]}'
                        for (f, v), c in sorted(invocations.items())))
        out += _family("hanbit_worker_resident_memory_bytes", "gauge",
                       "Resident memory of each worker process (at its last snapshot).",
                       (f'{{pid="{s["pid"]}"}} {s["rss_bytes"]}' for s in snapshots))
        out += _family("hanbit_workers", "gauge", "Worker processes that have reported.",
                       [f" {len(snapshots)}"])
        return "\n".join(out) + "\n"


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *(name + s for s in samples)]
