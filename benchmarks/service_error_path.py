"""CPU cost of a failed request during a fault, in process: the function's invocation and its log line.

    python benchmarks/service_error_path.py [--requests 5000] [--rounds 5]

Runs `todo-api` through `ControlledFunction` (the path a region's workers take) with the
control state set to each scenario in turn, and times N invocations plus the request log
line each one writes (`RequestLog.write`, whose `error.stack` is the formatted traceback):
- `ok`: no fault, GET /health (the reference);
- `exception`: the `exception` fault at 100 % (502 FailureInjectionException);
- `broken`: alias LIVE on a version of the broken release (502 KeyError raised in the handler);
- `status`: the `status` fault at 100 % (503, handler not run).
Rounds alternate the scenarios so machine noise hits all alike; prints the median and the
best round in microseconds per request. Not a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.api.todos import TodoApiCode  # noqa: E402
from service.control.broken_release import BrokenReleaseCode  # noqa: E402
from service.control.controlled_function import ControlledFunction  # noqa: E402
from service.control.function_control import FunctionControl  # noqa: E402
from service.control.state import PRIMARY, CodeRelease, initial_state  # noqa: E402
from service.control.store import StateStore  # noqa: E402
from service.control.watcher import StateWatcher  # noqa: E402
from service.runtime.function import FunctionConfig  # noqa: E402
from service.runtime.request_log import RequestLog  # noqa: E402
from service.store.sqlite import SqliteTodoStore  # noqa: E402

Mutation = Callable[[FunctionControl], object]

SCENARIOS: dict[str, Mutation] = {
    "ok": lambda f: None,
    "exception": lambda f: f.put_fault("exception", {"percentage": 100}),
    "broken": lambda f: f.update_alias("LIVE", "2"),
    "status": lambda f: f.put_fault("status", {"percentage": 100, "status_code": 503}),
}


def _reset(f: FunctionControl) -> None:
    f.update_alias("LIVE", "1")
    for kind in f.function.faults.active():
        f.delete_fault(kind)


def _event(i: int) -> dict:
    return {"httpMethod": "GET", "resource": "/health", "path": "/health", "headers": {},
            "requestContext": {"requestId": f"r{i}"}, "pathParameters": None, "queryStringParameters": None,
            "body": None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hanbit-error-path-"))
    store = StateStore.create(work / "state.json", initial_state([PRIMARY]))
    store.update(lambda s: FunctionControl(s.regions[PRIMARY].function).publish("broken"))
    watcher = StateWatcher(work / "state.json")
    watcher.refresh()
    opener = lambda table: SqliteTodoStore(work / "todos.db", table)  # noqa: E731
    codes = {CodeRelease.CURRENT: TodoApiCode(opener), CodeRelease.BROKEN: BrokenReleaseCode(opener)}
    function = ControlledFunction(codes, FunctionConfig(region=PRIMARY), watcher, region=PRIMARY,
                                  slots_path=work / "slots")
    log = RequestLog(work / "todo-api.log")
    loop = asyncio.new_event_loop()

    def change(mutate: Mutation) -> None:
        store.update(lambda s: mutate(FunctionControl(s.regions[PRIMARY].function)))
        watcher.refresh()

    async def run(n: int) -> tuple[float, int]:
        statuses = 0
        started = time.perf_counter()
        for i in range(n):
            invocation = await function.invoke(_event(i))
            status = invocation.response["statusCode"]
            statuses += status
            log.write(level="ERROR" if status >= 500 else "INFO", function="health", user_id=None,
                      request_id=f"r{i}", message=f"GET /health {status}", error=invocation.error,
                      metadata={"ip": "127.0.0.1", "userAgent": "bench", "method": "GET", "path": "/health",
                                "status": status, "latencyMs": 0.1, "functionVersion": "1"})
            if i % 2000 == 1999:  # the housekeeping task flushes every ~0.2 s
                log.flush()
        elapsed = time.perf_counter() - started
        log.flush()
        return elapsed, statuses // n

    results: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    statuses: dict[str, int] = {}
    try:
        for name, mutate in SCENARIOS.items():  # warm-up: the broken version's cold start etc.
            change(mutate)
            loop.run_until_complete(run(200))
            change(_reset)
        for _ in range(args.rounds):
            for name, mutate in SCENARIOS.items():
                change(mutate)
                elapsed, statuses[name] = loop.run_until_complete(run(args.requests))
                results[name].append(elapsed / args.requests * 1e6)
                change(_reset)
    finally:
        function.close()
        log.close()
        loop.close()
    print(f"{'scenario':<10} {'status':>6} {'median us/req':>14} {'best us/req':>12}")
    for name, figures in results.items():
        print(f"{name:<10} {statuses[name]:>6} {statistics.median(figures):>14.1f} {min(figures):>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
