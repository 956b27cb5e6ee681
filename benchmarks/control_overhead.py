"""What the control plane costs the bundled service: throughput with and without it, same run.

    python benchmarks/control_overhead.py [--duration 10] [--rounds 2] [--connections 64] [--workers 2]

Starts, side by side on 127.0.0.1:
- `plain`: the service alone (ServiceProcess without regions), as issue 2 built it;
- `control`: the same service under the supervisor with the control plane (one region:
  workers follow the control state, the function runs through ControlledFunction,
  stores behind throttle gates, the control API up);
- `edge` (with --regions 2): two regions with replication, traffic through the edge.
Each gets the same seeded users and the authenticated wrk mix of benchmarks/service_bench.py;
the runs are interleaved (plain, control, edge, plain, ...) so machine noise hits all
alike, and the figures are ratios to `plain` from the same run. CPU on a shared machine
is noisy: compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from service_bench import mix_script, run_wrk, seed

from service.launcher import ServiceProcess


def server_pids(process: ServiceProcess) -> list[int]:
    """Every process of the deployment but the supervisor: the workers (and the edge, if any)."""
    root = psutil.Process(process.pid)
    return [p.pid for p in root.children(recursive=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved runs per variant")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--todos-per-user", type=int, default=50)
    parser.add_argument("--regions", type=int, default=1, choices=(1, 2), help="2: also measure through the edge")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hanbit-control-bench-"))
    variants = {
        "plain": ServiceProcess(work / "plain", port=0, workers=args.workers),
        "control": ServiceProcess(work / "control", port=0, workers=args.workers, regions=1),
    }
    if args.regions == 2:
        variants["edge"] = ServiceProcess(work / "edge", port=0, workers=args.workers, regions=2)
    results: dict[str, list[dict]] = {name: [] for name in variants}
    try:
        scripts = {}
        for name, process in variants.items():
            process.start()
            script = work / f"{name}.lua"
            script.write_text(mix_script(seed(process.url, args.users, args.todos_per_user)))
            scripts[name] = script
            run_wrk(process.url, script, threads=args.threads, connections=args.connections,
                    duration_s=args.warmup, server_pids=server_pids(process))
        for _ in range(args.rounds):
            for name, process in variants.items():
                results[name].append(run_wrk(process.url, scripts[name], threads=args.threads,
                                             connections=args.connections, duration_s=args.duration,
                                             server_pids=server_pids(process)))
    finally:
        for process in variants.values():
            process.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(results, args)
    return 0


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    print(f"\ncontrol plane overhead: {args.workers} workers, wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration}s x {args.rounds} interleaved rounds")
    print(f"{'':10}{'RPS (median)':>14}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU us/req':>12}{'RPS / plain':>13}")
    plain_rps = statistics.median(r["rps"] for r in results["plain"])
    for name, runs in results.items():
        rps = statistics.median(r["rps"] for r in runs)
        p50 = statistics.median(r["p50_us"] for r in runs) / 1000
        p99 = statistics.median(r["p99_us"] for r in runs) / 1000
        cpu = statistics.median(r["server_cpu_us_per_request"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        print(f"{name:10}{rps:>14.0f}{p50:>9.2f}{p99:>9.2f}{errors:>8}{cpu:>12.1f}{rps / plain_rps:>13.3f}")
    ratio = statistics.median(r["rps"] for r in results["control"]) / plain_rps
    print(f"control / plain RPS ratio: {ratio:.3f}  ({'PASS' if ratio >= 0.9 else 'MISS'}: at most 10 % lower)")


if __name__ == "__main__":
    sys.exit(main())
