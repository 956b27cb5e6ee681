"""Capacity search on the bundled service: is the knee confirmed by a manual step test, and does a
deliberately slowed service (latency injected through the control API) report a lower knee that the
history flags as a regression?

    python benchmarks/capacity_bench.py [--step 100] [--max-rps 1500] [--hold 10] [--latency-ms 150]

1. start the bundled service (the deployment supervisor: one region, its control API on loopback);
2. capacity search (linear steps) -> knee K, recorded in a throwaway capacity history;
3. manual step test: separate constant-rate runs at K - step, K and K + step, judged the same way;
   the highest rate that met the SLO must be within one step of K;
4. inject latency into every invocation (PUT /control/function/faults/latency), search again: the knee
   must be lower and the comparison with step 2 must flag a regression; the fault is removed after.
   If the service's data plane does not apply control-plane faults (measured: a signed-in GET is not
   slower after the PUT), the latency is injected on the wire instead: every run of the benchmark then
   goes through a loopback TCP proxy (`--proxy`, its own process) that delays each byte the service
   sends by the same amount (0 ms for the baseline), like a network-latency fault.

Every figure printed is measured in this run. The machine is shared: compare knees of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.local.control_client import ControlClient
from loadtests.plan import LoadPlan, Shape
from loadtests.runner import LoadRunner, free_port
from scenarios.capacity import CapacityConfig, CapacitySearch
from service.settings import ENV_VAR, ServiceSettings
from verify.capacity import CapacityResult, StepResult, judge_step
from verify.capacity_history import CapacityHistory


class Deployment:
    """`python -m service.regions.supervisor` in its own process group (what `hanbit-drill serve` runs)."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90) -> str:
        settings = ServiceSettings(data_dir=self.data_dir, port=0, workers=self.workers, password_cost_log2=10)
        env = {**os.environ, ENV_VAR: settings.to_env()}
        log = open(self.data_dir.parent / "service.out", "ab")  # noqa: SIM115 - lives as long as the service
        self.proc = subprocess.Popen([sys.executable, "-m", "service.regions.supervisor", "--data-dir", str(self.data_dir),
                                      "--port", "0", "--workers", str(self.workers), "--regions", "1"],
                                     stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        ready = self.data_dir / "ready.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode}; see {log.name}")
            try:
                info = json.loads(ready.read_text())
                if info.get("pid") == self.proc.pid:
                    return str(info["url"])
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("the service was not ready in time")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---- latency on the wire: a loopback TCP proxy in its own process --------------------------------


def run_proxy(listen_port: int, upstream_port: int, delay_ms: float) -> None:
    """Forward 127.0.0.1:listen_port -> upstream; each chunk from upstream is sent `delay_ms` after it came."""
    import asyncio

    delay = delay_ms / 1000.0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delayed: bool) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def drain() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.create_task(drain())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + (delay if delayed else 0.0), data))
        except ConnectionError:
            pass
        queue.put_nowait((0.0, b""))
        await sender

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, up_w, False), pipe(up_r, client_w, True), return_exceptions=True)

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=4096)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve())


class Proxy:
    def __init__(self, upstream_url: str, delay_ms: float) -> None:
        self.upstream_port = int(upstream_url.rsplit(":", 1)[1].rstrip("/"))
        self.delay_ms = delay_ms
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, __file__, "--proxy", str(self.port), str(self.upstream_port),
                                      str(self.delay_ms)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def signed_in_get_ms(url: str, n: int = 15) -> float:
    """Median latency of a signed-in GET /todos (through the authorizer and the function)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        user = f"probe{time.time_ns()}"
        http.post("/auth/signup", json={"username": user, "password": "probe-password"}).raise_for_status()
        token = http.post("/auth/token", json={"username": user, "password": "probe-password"}).json()["access_token"]
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            http.get("/todos", headers={"authorization": f"Bearer {token}"}).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def show(step: StepResult) -> None:
    verdict = "met" if step.met else f"{step.broke_because}: {'; '.join(step.reasons)}"
    print(f"    {step.rate_rps:>6,.0f} RPS  achieved {step.achieved_rps:>6,.0f}  p90 {step.p90_ms:>7,.1f}  "
          f"p95 {step.p95_ms:>7,.1f} ms  errors {step.error_rate:6.2%}  sat {step.saturated_seconds} s  {verdict}",
          flush=True)


def search(url: str, config: CapacityConfig, run_dir: Path, label: str) -> CapacityResult:
    print(f"\n{label}: linear {config.step_rps:g}..{config.max_rps:g} RPS, hold {config.hold_s:g} s", flush=True)
    t0 = time.monotonic()
    result = CapacitySearch(url, config, run_dir, target="bench-local", on_step=show).run()
    print(f"  knee {result.knee_rps} RPS, broke at {result.broke_at_rps} ({result.broke_because}) "
          f"in {time.monotonic() - t0:.0f} s", flush=True)
    return result


def manual_step(url: str, rate: float, config: CapacityConfig, run_dir: Path) -> StepResult:
    """One constant-rate run of `hold` seconds, judged over its seconds after the settle period."""
    plan = config.load.model_copy(update={"rps": rate, "shape": Shape(), "duration_s": config.hold_s})
    runner = LoadRunner(url, plan, run_dir / f"manual-{rate:g}")
    by_t = {}
    try:
        runner.start()
        for sample in runner.samples():
            by_t[sample.t] = sample
    finally:
        runner.stop()
    assert runner.start_epoch is not None
    start = int(runner.start_epoch)
    return judge_step(by_t, rate, start + int(config.settle), start + int(config.hold_s), config.slo)


def fault_mode(url: str, client: ControlClient, latency_ms: int) -> bool:
    """True if the control plane's latency fault really slows a signed-in request (measured)."""
    before = signed_in_get_ms(url)
    client.put("/control/function/faults/latency", {"percentage": 100, "latency_ms": latency_ms})
    try:
        during = signed_in_get_ms(url)
    finally:
        client.request("DELETE", "/control/function/faults/latency")
    print(f"control-plane latency fault: signed-in GET median {before:.1f} ms -> {during:.1f} ms", flush=True)
    return during - before >= latency_ms / 2


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--proxy":
        run_proxy(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=float, default=100)
    parser.add_argument("--max-rps", type=float, default=1500)
    parser.add_argument("--hold", type=float, default=10)
    parser.add_argument("--latency-ms", type=int, default=150, help="injected into every invocation")
    parser.add_argument("--service-workers", type=int, default=2)
    parser.add_argument("--load-workers", type=int, default=1)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="capacity-bench-"))
    deployment = Deployment(root / "service", args.service_workers)
    history = CapacityHistory(root / "capacity.jsonl")
    config = CapacityConfig(max_rps=args.max_rps, step_rps=args.step, hold_s=args.hold,
                            load=LoadPlan(rps=1, workers=args.load_workers, accounts=20))
    print(f"run dir {root}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        service_url = deployment.start()
        client = ControlClient.from_data_dir(root / "service")
        in_service = fault_mode(service_url, client, args.latency_ms)
        how = "control API (function latency fault)" if in_service else "on the wire (loopback proxy, 0 ms baseline)"
        print(f"latency is injected {how}", flush=True)
        base_proxy = contextlib.nullcontext(service_url) if in_service else Proxy(service_url, 0)
        with base_proxy as url:
            base = search(url, config, root / "base", "baseline capacity")
            history.append(base)
            knee = base.knee_rps or 0.0
            rates = [r for r in (knee - args.step, knee, knee + args.step) if 0 < r <= args.max_rps]
            print(f"\nmanual step test at {', '.join(f'{r:g}' for r in rates)} RPS (separate runs)", flush=True)
            manual = [manual_step(url, rate, config, root / "manual") for rate in rates]
        for step in manual:
            show(step)
        manual_knee = max((s.rate_rps for s in manual if s.met), default=None)
        confirmed = manual_knee is not None and abs(manual_knee - knee) <= args.step
        print(f"  manual knee {manual_knee} vs search knee {knee:g}: "
              f"{'CONFIRMED within one step' if confirmed else 'NOT confirmed'}", flush=True)

        label = f"slowed capacity (+{args.latency_ms} ms {'per invocation' if in_service else 'on the wire'})"
        if in_service:
            client.put("/control/function/faults/latency", {"percentage": 100, "latency_ms": args.latency_ms})
            try:
                slowed = search(service_url, config, root / "slowed", label)
            finally:
                client.request("DELETE", "/control/function/faults/latency")
        else:
            with Proxy(service_url, args.latency_ms) as url:
                slowed = search(url, config, root / "slowed", label)
        comparison = history.compare(slowed)
        history.append(slowed)
        lower = (slowed.knee_rps or 0) < knee
        print(f"\nslowed knee {slowed.knee_rps} vs baseline {knee:g} RPS "
              f"({'lower' if lower else 'NOT lower'}); change "
              f"{'-' if comparison.knee_change is None else f'{comparison.knee_change:+.0%}'}; regression flagged: "
              f"{comparison.regressed} {[r.current for r in comparison.regressions]}", flush=True)
        ok = confirmed and lower and comparison.regressed
        print(f"\nRESULT {'OK' if ok else 'FAILED'}: baseline knee {knee:g}, manual {manual_knee}, slowed "
              f"{slowed.knee_rps} ({how}); search took {base.finished_at - base.started_at:.0f} s", flush=True)
        return 0 if ok else 1
    finally:
        deployment.stop()


if __name__ == "__main__":
    sys.exit(main())
