"""Which region serves the clients' path, second by second: failover made visible.

A region drill's load goes to the name clients use (a Route 53 failover record); the load's records say
how requests went, not where. Once a second this asks that name for `/health` on a new connection (a new
DNS lookup as a new client makes, no kept-alive socket pinned to the old region) and keeps the `region`
the service's health handler reports, or why there was none. The engine puts the result in the journal
(`served_by`) and the report draws it under the charts.

Not the load's own requests: those ride kept-alive connections, which follow DNS only when they are
re-opened (see docs/aws.md). Runs in a thread of the harness process; never imports locust.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx

from common.tls import client_context

HEALTH_PATH = "/health"


def _fetch(client: httpx.Client, url: str) -> str:
    try:
        answer = client.get(url, headers={"Connection": "close"})
    except httpx.TimeoutException:
        return "no answer (timeout)"
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})"
    try:
        region = json.loads(answer.content).get("region")
    except (ValueError, AttributeError):
        region = None
    if region:
        return str(region)
    return f"no answer (HTTP {answer.status_code})"


class ServedRegionSampler:
    def __init__(
        self,
        url: str,
        *,
        interval_s: float = 1.0,
        timeout_s: float = 2.0,
        ca_bundle: str | None = None,
        probe: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/") + HEALTH_PATH
        self.interval_s = interval_s
        self._timeout_s = timeout_s
        self._ca_bundle = ca_bundle
        self._probe = probe
        self._clock = clock
        self._samples: dict[int, str] = {}
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="served-region", daemon=True)
        self._thread.start()

    def stop(self) -> dict[int, str]:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(self._timeout_s + self.interval_s + 1.0)
        return self.samples()

    def samples(self) -> dict[int, str]:
        with self._lock:
            return dict(self._samples)

    def sample_once(self, client: httpx.Client | None = None) -> None:
        t = int(self._clock())
        found = self._probe() if self._probe is not None else _fetch(client, self.url)  # type: ignore[arg-type]
        with self._lock:
            self._samples.setdefault(t, found)

    def _run(self) -> None:
        # No keep-alive: every sample is a new connection, so it follows a DNS failover as a new client does.
        limits = httpx.Limits(max_keepalive_connections=0)
        verify = client_context(self._ca_bundle) if self.url.startswith("https://") else False
        with httpx.Client(timeout=self._timeout_s, limits=limits, verify=verify) as client:
            while not self._halt.is_set():
                started = time.monotonic()
                self.sample_once(client)
                self._halt.wait(max(self.interval_s - (time.monotonic() - started), 0.0))
