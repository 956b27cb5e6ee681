"""What the journal costs to write, per second of drill, after 1 h and 3 h of samples: before and after series.jsonl.

    python benchmarks/journal_cost.py [--rps 1000] [--repeat 15]

Before, the engine rewrote the whole journal (every per-second sample and histogram) every 5 s
(JOURNAL_SAVE_EVERY_S) and on every event: per drill second, one fifth of a whole rewrite, growing
with the drill. After, each sample is appended once to series.jsonl as it arrives and journal.json
(without the series) is rewritten every 5 s: per drill second, one append plus a fifth of a small
rewrite, whatever the drill's length. Both write to the same directory with an fsync per journal.json,
as the engine does. Samples carry the histogram of `--rps` requests a second (the size of real ones).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scenarios.engine import JOURNAL_SAVE_EVERY_S
from verify.journal import Journal
from verify.synthetic import fault_series

T0 = 1_700_000_000


def whole_rewrite(journal: Journal, path: Path) -> None:
    """The journal as the engine saved it before series.jsonl: everything, series inline, atomically."""
    fd, tmp = tempfile.mkstemp(prefix=".journal-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(journal.model_dump_json(indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def median_s(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(seconds: int, rps: int, repeat: int, workdir: Path) -> dict[str, float]:
    series = fault_series(T0, seconds + repeat * 20, T0 + seconds // 2, rps=rps, error_rate=0.5)
    journal = Journal(run_id="bench", scenario="region-outage", profile="full", target="local", started_at=T0,
                      series=series[:seconds])
    before_dir, after_dir = workdir / f"before-{seconds}", workdir / f"after-{seconds}"
    before_dir.mkdir()
    after_dir.mkdir()
    before = median_s(lambda: whole_rewrite(journal, before_dir / "journal.json"), repeat)
    size_before = (before_dir / "journal.json").stat().st_size

    journal.save(after_dir / "journal.json")  # series.jsonl holds the first `seconds` samples
    small = median_s(lambda: journal.save(after_dir / "journal.json"), repeat)  # nothing new: journal.json only
    extra = iter(series[seconds:])

    def append_one() -> None:
        journal.series.append(next(extra))
        journal.flush_series(after_dir / "journal.json")

    append = median_s(append_one, repeat * 20)
    return {
        "before_rewrite_ms": before * 1e3,
        "before_per_s_ms": before / JOURNAL_SAVE_EVERY_S * 1e3,
        "before_mb": size_before / 1e6,
        "after_append_ms": append * 1e3,
        "after_journal_ms": small * 1e3,
        "after_per_s_ms": (append + small / JOURNAL_SAVE_EVERY_S) * 1e3,
        "after_journal_kb": (after_dir / "journal.json").stat().st_size / 1e3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=int, default=1000, help="requests in each synthetic second's histogram")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each measure (the median is printed)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="journal-cost-") as tmp:
        for label, seconds in (("1 h", 3600), ("3 h", 10800)):
            results[label] = figures = measure(seconds, args.rps, args.repeat, Path(tmp))
            print(
                f"{label} of samples ({seconds:,} s): before, a whole rewrite {figures['before_rewrite_ms']:,.1f} ms "
                f"({figures['before_mb']:,.1f} MB) every {JOURNAL_SAVE_EVERY_S:g} s = "
                f"{figures['before_per_s_ms']:,.2f} ms per drill second; after, append one sample "
                f"{figures['after_append_ms']:,.3f} ms + journal.json {figures['after_journal_ms']:,.2f} ms "
                f"({figures['after_journal_kb']:,.1f} kB) every {JOURNAL_SAVE_EVERY_S:g} s = "
                f"{figures['after_per_s_ms']:,.3f} ms per drill second"
            )
    one, three = results["1 h"], results["3 h"]
    print(f"3 h / 1 h per drill second: before x{three['before_per_s_ms'] / one['before_per_s_ms']:.2f}, "
          f"after x{three['after_per_s_ms'] / one['after_per_s_ms']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
