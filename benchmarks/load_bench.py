"""Load runner benchmark against the bundled service on this machine (service and generator together).

Prints, for each case, what the harness measured (its own merged histograms, never Locust's stats),
plus the generator's CPU and memory and the service's CPU, then the issue's criteria:

  closed-10k   10,000 users, think time 10 s  -> 1,000 RPS: achieved within 2 %, p90 < 200 ms,
               p95 < 500 ms, errors < 1 %, generator RSS (all processes) < 600 MB
  closed-100   100 users, think time 0.1 s    -> 1,000 RPS: p90(10k) - p90(100) < 20 ms (same run)
  open-2000    2,000 arrivals per second       -> achieved within 2 %
  open-1000    1,000 arrivals per second       (the rate the HTTPS comparison is judged at)

With --tls every case also runs over HTTPS, right after its plain HTTP run: a second bundled service
serves TLS with a certificate of a test CA made for the run (trustme, of the test extra), and the load
trusts that CA. Each pair prints RPS, errors and CPU per request of the generator and of the service
side by side; the criterion: HTTPS reaches the same RPS as HTTP with 0 errors.

    python benchmarks/load_bench.py [--duration 60] [--cases closed-10k,closed-100,open-2000] [--tls]
    python benchmarks/load_bench.py --cases open-1000 --tls --duration 30

The machine may be shared: run it when it is quiet, and read figures from one run as ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtests.plan import LoadPlan
from loadtests.records import decode_histogram, new_histogram
from loadtests.runner import LoadRunner
from loadtests.summary import LoadSummary
from service.launcher import ServiceProcess

CASES = {
    "closed-10k": {"model": "closed", "users": 10_000, "think_time_s": 10.0},
    "closed-100": {"model": "closed", "users": 100, "think_time_s": 0.1},
    "open-2000": {"model": "open", "rps": 2_000.0},
    "open-1000": {"model": "open", "rps": 1_000.0},
}
DEFAULT_CASES = ("closed-10k", "closed-100", "open-2000")
TLS = "+tls"  # suffix of a case's HTTPS run


@dataclass
class Measured:
    summary: LoadSummary
    healthy_p90_ms: float  # p90 of the seconds in which the generator did not flag itself saturated
    healthy_seconds: int
    gen_rss_mb: float
    gen_cpu_cores: float
    svc_cpu_cores: float
    wall_s: float
    gen_cpu_us_per_req: float  # generator CPU between the first and the last second, per request sent in them
    svc_cpu_us_per_req: float  # the service's, over the same span


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


class Sampler(threading.Thread):
    """Peak summed RSS and CPU time of the generator's processes, once a second."""

    def __init__(self, runner: LoadRunner) -> None:
        super().__init__(daemon=True)
        self.runner = runner
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(1.0):
            procs = [p for pid in self.runner.pids() for p in _tree(pid)]
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            self.peak_rss = max(self.peak_rss, rss)


def run_case(name: str, url: str, svc_pid: int, duration: float, workers: int, run_dir: Path,
             ca_bundle: str | None = None) -> Measured:
    plan = LoadPlan(duration_s=duration, workers=workers, accounts=50, ca_bundle=ca_bundle,
                    **CASES[name.removesuffix(TLS)])
    runner = LoadRunner(url, plan, run_dir / name)
    svc = _tree(svc_pid)
    sampler = Sampler(runner)
    try:
        runner.start()
        sampler.start()
        svc_cpu0, t0 = _cpu(svc), time.monotonic()
        healthy = new_histogram()
        healthy_seconds = 0
        # CPU per request over the steady part: from the first second's close to the last's, so the
        # generator's start-up (imports, spawning users) is not billed to the requests.
        first: tuple[float, float] | None = None  # (generator CPU, service CPU) as the first second closed
        last: tuple[float, float] | None = None  # ... as the latest one did
        requests_in_span = 0
        for sample in runner.samples():
            if not sample.generator.saturated and sample.histogram:
                healthy.add(decode_histogram(sample.histogram))
                healthy_seconds += 1
            now = (_cpu([p for pid in runner.pids() for p in _tree(pid)]), _cpu(svc))
            if first is None:
                first = now
            else:
                last = now
                requests_in_span += sample.requests
        wall = time.monotonic() - t0
        svc_cpu = _cpu(svc) - svc_cpu0
        sampler.halt.set()
        sampler.join()
        summary = runner.wait(60)
    finally:
        runner.stop()
    gen_cpu = sum(sampler.cpu.values())  # cumulative CPU of every generator process, incl. start-up
    healthy_p90 = healthy.get_value_at_percentile(90) / 1000 if healthy_seconds else float("nan")
    per_req = [(b - a) / requests_in_span * 1e6 for a, b in zip(first, last, strict=True)] \
        if first is not None and last is not None and requests_in_span else [float("nan")] * 2
    return Measured(
        summary, healthy_p90, healthy_seconds, sampler.peak_rss / 2**20, gen_cpu / wall, svc_cpu / wall, wall,
        per_req[0], per_req[1],
    )


def report(name: str, m: Measured) -> None:
    s = m.summary
    dev = (s.achieved_rps / s.target_rps - 1) * 100 if s.target_rps else float("nan")
    print(
        f"{name:11s} target {s.target_rps or 0:7.1f} RPS  achieved {s.achieved_rps:7.1f} ({dev:+.2f} %)  "
        f"p50 {s.p50_ms:7.1f}  p90 {s.p90_ms:7.1f}  p95 {s.p95_ms:7.1f}  p99 {s.p99_ms:7.1f}  max {s.max_ms:7.1f} ms  "
        f"errors {s.error_rate * 100:.2f} %  ok {s.ok_rps:.1f} RPS  users {s.users or '-'}",
        flush=True,
    )
    print(
        f"{'':11s} generator: CPU {m.gen_cpu_cores:.2f} cores (avg over run, incl. start-up), peak RSS "
        f"{m.gen_rss_mb:.0f} MB, max loop lag {s.generator_max_loop_lag_ms:.0f} ms, saturated "
        f"{s.saturated_seconds}/{s.seconds} s (p90 of the other {m.healthy_seconds} s: {m.healthy_p90_ms:.1f} ms); "
        f"service CPU {m.svc_cpu_cores:.2f} cores",
        flush=True,
    )
    print(f"{'':11s} CPU per request (steady seconds): generator {m.gen_cpu_us_per_req:.0f} us, service "
          f"{m.svc_cpu_us_per_req:.0f} us; failures {dict(s.failures) or 'none'}", flush=True)


def test_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, certificate, key) of a CA made for this run, the certificate for 127.0.0.1."""
    try:
        import trustme
    except ImportError:
        raise SystemExit("--tls needs trustme: pip install -c constraints.txt -e '.[test]'") from None
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca.cert_pem.write_to_path(paths[0])
    issued.cert_chain_pems[0].write_to_path(paths[1])
    issued.private_key_pem.write_to_path(paths[2])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"of {', '.join(CASES)}")
    parser.add_argument("--tls", action="store_true", help="run each case over HTTPS too, right after HTTP")
    parser.add_argument("--workers", type=int, default=1, help="Locust workers")
    parser.add_argument("--service-workers", type=int, default=2)
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    results: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp, contextlib.ExitStack() as stack:
        svc = ServiceProcess(Path(tmp) / "service", port=0, workers=args.service_workers)
        stack.callback(svc.stop)
        url = svc.start()
        print(f"bundled service at {url} ({args.service_workers} workers); load avg {psutil.getloadavg()}", flush=True)
        tls_svc, ca_bundle = None, None
        if args.tls:
            ca, cert, key = test_ca(Path(tmp) / "certs")
            ca_bundle = str(ca)
            # Its own service (same settings), idle while the plain one is loaded and the other way round.
            tls_svc = ServiceProcess(Path(tmp) / "service-tls", port=0, workers=args.service_workers,
                                     tls_cert=cert, tls_key=key)
            stack.callback(tls_svc.stop)
            print(f"bundled service over HTTPS at {tls_svc.start()} (test CA)", flush=True)
        for name in names:
            results[name] = run_case(name, url, svc.pid or 0, args.duration, args.workers, Path(tmp))
            report(name, results[name])
            if tls_svc is not None:
                results[name + TLS] = run_case(name + TLS, tls_svc.url, tls_svc.pid or 0, args.duration,
                                               args.workers, Path(tmp), ca_bundle)
                report(name + TLS, results[name + TLS])
    print(f"load avg after: {psutil.getloadavg()}")
    print("criteria:")
    if "closed-10k" in results:
        m = results["closed-10k"]
        s = m.summary
        dev = abs(s.achieved_rps / (s.target_rps or 1) - 1) * 100
        print(f"  10k users >= 1000 RPS within 2 %: {s.achieved_rps:.1f} RPS ({dev:.2f} %) -> {_ok(s.achieved_rps >= 980 and dev <= 2)}")
        print(f"  p90 < 200 ms: {s.p90_ms:.1f} -> {_ok(s.p90_ms < 200)};  p95 < 500 ms: {s.p95_ms:.1f} -> {_ok(s.p95_ms < 500)};"
              f"  errors < 1 %: {s.error_rate * 100:.2f} % -> {_ok(s.error_rate < 0.01)}")
        print(f"  generator RSS < 600 MB: {m.gen_rss_mb:.0f} MB -> {_ok(m.gen_rss_mb < 600)}")
        if "closed-100" in results:
            other = results["closed-100"]
            gap = s.p90_ms - other.summary.p90_ms
            print(f"  p90(10k) - p90(100) < 20 ms: {gap:+.1f} ms -> {_ok(gap < 20)}"
                  f"  (seconds without generator saturation only: {m.healthy_p90_ms - other.healthy_p90_ms:+.1f} ms)")
    if "open-2000" in results:
        s = results["open-2000"].summary
        dev = abs(s.achieved_rps / (s.target_rps or 1) - 1) * 100
        print(f"  open 2000 RPS within 2 %: {s.achieved_rps:.1f} ({dev:.2f} %) -> {_ok(dev <= 2)}; "
              f"p90 {s.p90_ms:.1f} ms, errors {s.error_rate * 100:.2f} %")
    for name in names:
        if name + TLS in results:
            plain, tls = results[name], results[name + TLS]
            p, t = plain.summary, tls.summary
            same = t.target_rps is not None and abs(t.achieved_rps / t.target_rps - 1) <= 0.02
            failures = t.failures or "no failures"
            print(f"  {name} HTTPS vs HTTP: {t.achieved_rps:.1f} vs {p.achieved_rps:.1f} RPS (target "
                  f"{t.target_rps or 0:.0f}), HTTPS errors {t.error_rate * 100:.2f} % ({failures}) -> "
                  f"{_ok(same and t.error_rate == 0)}")
            print(f"  {'':{len(name)}s} CPU per request, HTTPS vs HTTP: generator {tls.gen_cpu_us_per_req:.0f} vs "
                  f"{plain.gen_cpu_us_per_req:.0f} us ({tls.gen_cpu_us_per_req / plain.gen_cpu_us_per_req:.2f}x), "
                  f"service {tls.svc_cpu_us_per_req:.0f} vs {plain.svc_cpu_us_per_req:.0f} us "
                  f"({tls.svc_cpu_us_per_req / plain.svc_cpu_us_per_req:.2f}x); p90 {t.p90_ms:.1f} vs {p.p90_ms:.1f} ms")


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"


if __name__ == "__main__":
    main()
