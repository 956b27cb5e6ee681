"""Render the sample drill report (synthetic series, real checks) to HTML, JUnit and a PNG screenshot.

    python benchmarks/report_screenshot.py [--out runs/sample-report]

Open the PNG (or report.html) to see what operators will paste into post-mortems.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from verify.browser import HeadlessChromium, png_size
from verify.demo import demo_journal
from verify.junit import write_junit
from verify.report_html import write_html


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/sample-report"))
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args()
    journal = demo_journal()
    args.out.mkdir(parents=True, exist_ok=True)
    journal.save(args.out / "journal.json")
    started = time.perf_counter()
    page = write_html(journal, args.out / "report.html")
    render_s = time.perf_counter() - started
    write_junit([journal], args.out / "junit.xml")
    started = time.perf_counter()
    shot = HeadlessChromium().screenshot(page, args.out / "report.png", args.width, args.height)
    shot_s = time.perf_counter() - started
    width, height = png_size(shot)
    print(f"report.html  {page}  {page.stat().st_size / 1024:,.0f} KiB, rendered in {render_s * 1000:,.0f} ms")
    print(f"report.png   {shot}  {width}x{height}, {shot.stat().st_size / 1024:,.0f} KiB, chromium took {shot_s:,.1f} s")
    print(f"junit.xml    {args.out / 'junit.xml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
