"""RssSampler: the summed resident memory of a process and its descendants, sampled in a thread."""

from __future__ import annotations

import threading
import time

import psutil

from loadtests.records import RssPoint

_MB = 1024 * 1024


class RssSampler:
    """Samples the summed RSS of a process and all its descendants in a background thread."""

    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.points: list[RssPoint] = []
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> RssPoint | None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        total, count = 0, 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
                count += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # a worker restarting between the listing and the read
        return RssPoint(t=time.time(), rss_mb=total / _MB, processes=count)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.is_set():
            point = self.sample()
            if point is not None:
                self.points.append(point)
            self._halt.wait(self.interval_s)

    def stop(self) -> list[RssPoint]:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
        return list(self.points)
