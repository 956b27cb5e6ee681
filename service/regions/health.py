"""Route 53-style health checks of the regions, driving the edge's failover.

Every `interval_s` each region's endpoint gets an HTTP GET (over TLS when the regions serve
HTTPS, see service.tls); 2xx/3xx within the timeout passes. A region turns unhealthy after `failure_threshold` consecutive failures and
healthy again after as many consecutive passes (Route 53's rule). When a verdict flips
and no manual override is set, `edge.serving` moves to the failover target: the primary
while healthy, else a healthy secondary. Only flips are written to the control state.

The check targets a path the gateway answers itself (`/openapi.json` by default), like
a health check on the API endpoint rather than on the function: a bad deploy is the
function's failure to fix (rollback), a region that stops answering is the edge's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass

from service.control.changelog import ChangeLog
from service.control.state import ControlState
from service.control.store import StateStore
from service.tls import probe_context

_log = logging.getLogger("service.regions")
HEALTH_PATH = "/openapi.json"


@dataclass
class RegionHealth:
    healthy: bool = True
    consecutive_failures: int = 0
    consecutive_passes: int = 0
    last_checked_at: float | None = None
    last_error: str | None = None
    checks: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"healthy": self.healthy, "consecutive_failures": self.consecutive_failures,
                "consecutive_passes": self.consecutive_passes, "last_checked_at": self.last_checked_at,
                "last_error": self.last_error, "checks": self.checks}


async def probe(port: int, path: str, timeout_s: float, *, tls: bool = False) -> str | None:
    """One check. None when it passed, else what went wrong."""
    writer = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=probe_context() if tls else None)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: health-check\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except ssl.SSLError as exc:
        return f"TLS: {exc.reason or exc}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 0.5)
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return f"not an HTTP answer: {status_line[:40]!r}"
    status = int(parts[1])
    return None if 200 <= status < 400 else f"HTTP {status}"


class HealthChecker:
    def __init__(self, store: StateStore, *, path: str = HEALTH_PATH, timeout_s: float = 2.0,
                 log: ChangeLog | None = None, tls: bool = False) -> None:
        self.store = store
        self.tls = tls
        self.path = path
        self.timeout_s = timeout_s
        self.log = log
        state = store.read()
        self.regions = {name: RegionHealth(healthy=state.edge.healthy.get(name, True)) for name in state.regions}
        self._tasks: list[asyncio.Task[None]] = []

    def health(self) -> dict[str, dict[str, object]]:
        return {name: h.as_dict() for name, h in self.regions.items()}

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._watch(name)) for name in self.regions]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _watch(self, region: str) -> None:
        while True:
            started = time.monotonic()
            state = await asyncio.to_thread(self.store.read)
            port = state.regions[region].port
            if port:
                error = await probe(port, self.path, min(self.timeout_s, max(state.edge.interval_s, 0.5)),
                                    tls=self.tls)
                try:
                    await self._record(region, error, state.edge.failure_threshold)
                except Exception:  # noqa: BLE001 - keep checking; the traceback is in the log
                    _log.exception("recording the health of %s failed", region)
            await asyncio.sleep(max(0.0, state.edge.interval_s - (time.monotonic() - started)))

    async def _record(self, region: str, error: str | None, threshold: int) -> None:
        health = self.regions[region]
        health.checks += 1
        health.last_checked_at = time.time()
        health.last_error = error
        if error is None:
            health.consecutive_passes += 1
            health.consecutive_failures = 0
            flip = not health.healthy and health.consecutive_passes >= threshold
        else:
            health.consecutive_failures += 1
            health.consecutive_passes = 0
            flip = health.healthy and health.consecutive_failures >= threshold
        if flip:
            health.healthy = not health.healthy
            _log.warning("region %s is now %s (%s)", region, "healthy" if health.healthy else "unhealthy", error)
            detail = await asyncio.to_thread(self.store.update, lambda s: self._apply(s, region, health.healthy))
            if self.log is not None:
                action = "edge.failover" if detail["serving"] != detail["previous"] else "edge.health"
                await asyncio.to_thread(self.log.append, action, {**detail, "error": error}, region=region)

    @staticmethod
    def _apply(state: ControlState, region: str, healthy: bool) -> dict[str, object]:
        state.edge.healthy[region] = healthy
        previous = state.edge.serving
        if state.edge.active is None:
            state.edge.serving = state.failover_target()
        return {"region": region, "healthy": healthy, "serving": state.edge.serving, "previous": previous}
