"""CPU cost of one request log line (`RequestLog.write`), in process.

    python benchmarks/service_request_log.py [--lines 200000] [--rounds 7]

Writes N typical lines (an INFO line of an authenticated GET, the metadata the gateway
builds) to a log file in a temporary directory, flushing every 2,000 lines as the
gateway's housekeeping does every ~0.2 s under load; the flushes' write(2) calls are in the
figure. Prints the median and the best round in nanoseconds per line. Not a test: no
figure is asserted; compare runs made on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.runtime.request_log import RequestLog  # noqa: E402

FLUSH_EVERY = 2000


def run(log: RequestLog, lines: int) -> float:
    started = time.perf_counter()
    for i in range(lines):
        log.write(level="INFO", function="getTodo", user_id="0b7c2f7e-4a53-4f6e-9d55-5c3e1e0c9a11",
                  request_id="9a1d3c5e-77aa-4b1e-8c2d-000000000000", message="GET /todos/abc 200", error=None,
                  metadata={"ip": "127.0.0.1", "userAgent": "wrk", "method": "GET", "path": "/todos/abc",
                            "status": 200, "latencyMs": 0.412, "functionVersion": "1"})
        if i % FLUSH_EVERY == FLUSH_EVERY - 1:
            log.flush()
    log.flush()
    return (time.perf_counter() - started) / lines * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hanbit-request-log-") as work:
        log = RequestLog(Path(work) / "todo-api.log")
        run(log, 10_000)  # warm-up
        figures = [run(log, args.lines) for _ in range(args.rounds)]
        log.close()
    print(f"RequestLog.write: median {statistics.median(figures):.0f} ns/line, best {min(figures):.0f} ns/line "
          f"({args.rounds} rounds of {args.lines} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
