"""Inline SVG time-series charts, generated in Python: the HTML report needs no script and no network.

A chart has lines (gaps where a value is None), shaded bands (the fault
window), vertical markers (detection, remediation, recovery) and horizontal
thresholds (SLO, alarm). The y axis can be logarithmic for latencies, where a
20 ms baseline and 5 s timeouts must both stay readable.

Measurements are buckets: a per-second sample covers [t, t+1), an alarm datapoint
its period. `steps()` draws them as such, and never before their cause: the
bucket the fault landed in starts at the fault line, since whatever it measured
after the fault happened after it (a point at t, or a line sloping from t, would
show failures before the fault).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape


@dataclass(frozen=True)
class Line:
    label: str
    points: list[tuple[float, float | None]]
    color: str
    dashed: bool = False
    width: float = 1.6


@dataclass(frozen=True)
class Band:
    x0: float
    x1: float
    label: str
    color: str = "#e5484d"
    opacity: float = 0.13


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    color: str = "#333"


@dataclass(frozen=True)
class Threshold:
    y: float
    label: str
    color: str = "#888"


def steps(
    buckets: Sequence[tuple[float, float | None]], width: float = 1.0, cause: float | None = None
) -> list[tuple[float, float | None]]:
    """Points of a step line over buckets `[x, x + width)` (value None: a gap). A bucket straddling `cause`
    (x < cause < x + width) is drawn from `cause`, the previous value held up to it."""
    points: list[tuple[float, float | None]] = []
    for x, y in buckets:
        if y is None:
            points.append((x, None))
            continue
        start = x
        if cause is not None and x < cause < x + width:
            start = cause
            if points and points[-1][1] is not None:
                points.append((cause, points[-1][1]))
        if len(points) >= 2 and points[-1] == (start, y) and points[-2][1] == y:
            points[-1] = (x + width, y)  # the same value on: one longer step (a 2-hour drill stays small)
        else:
            points += [(start, y), (x + width, y)]
    return points


def nice_step(span: float, target_ticks: int = 6) -> float:
    """A 1/2/5 x 10^k step giving about `target_ticks` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _columns(text: str) -> int:
    """Text width in Latin-letter columns: a Hangul or CJK glyph (`--lang ko`) is about twice as wide, and the
    legend is placed after the title by this estimate (SVG text cannot be measured without a script)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value / 1000:g}k" if value % 1000 == 0 else f"{value:,.0f}"
    return f"{value:g}"


@dataclass
class SvgChart:
    title: str
    y_label: str
    x_label: str = "seconds since the fault"
    width: int = 960
    height: int = 240
    log_y: bool = False
    y_min: float | None = None
    y_max: float | None = None
    y_suffix: str = ""
    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    css_class: str = "chart"

    # plot area margins
    left: int = 64
    right: int = 16
    top: int = 46
    bottom: int = 40

    def _x_range(self) -> tuple[float, float]:
        xs = [x for line in self.lines for x, _ in line.points]
        if not xs:
            return 0.0, 1.0
        lo, hi = min(xs), max(xs)
        return (lo, hi) if hi > lo else (lo - 1, hi + 1)

    def _y_range(self) -> tuple[float, float]:
        ys = [y for line in self.lines for _, y in line.points if y is not None]
        ys += [t.y for t in self.thresholds]
        if self.log_y:
            ys = [y for y in ys if y > 0]
            lo = self.y_min or (min(ys) if ys else 1.0)
            hi = self.y_max or (max(ys) if ys else 10.0)
            lo = 10 ** math.floor(math.log10(max(lo, 1e-3)))
            hi = 10 ** math.ceil(math.log10(max(hi, lo * 10)))
            return lo, hi
        lo = self.y_min if self.y_min is not None else min([0.0, *ys])
        hi = self.y_max if self.y_max is not None else max([1e-9, *ys]) * 1.08
        step = nice_step(hi - lo)
        return lo, math.ceil(hi / step) * step

    def render(self) -> str:
        x0, x1 = self._x_range()
        y0, y1 = self._y_range()
        pw, ph = self.width - self.left - self.right, self.height - self.top - self.bottom

        def sx(x: float) -> float:
            return self.left + (x - x0) / (x1 - x0) * pw

        def sy(y: float) -> float:
            if self.log_y:
                y = max(y, y0)
                frac = (math.log10(y) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
            else:
                frac = (y - y0) / (y1 - y0) if y1 > y0 else 0.0
            return self.top + ph - min(max(frac, 0.0), 1.0) * ph

        out = [
            f'<svg class="{self.css_class}" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" role="img" aria-label="{escape(self.title)}">',
            f"<title>{escape(self.title)}</title>",
            f'<text x="{self.left}" y="18" class="ct">{escape(self.title)}</text>',
        ]
        for band in self.bands:
            bx0, bx1 = sx(max(band.x0, x0)), sx(min(band.x1, x1))
            if bx1 > bx0:
                out.append(
                    f'<rect x="{bx0:.1f}" y="{self.top}" width="{bx1 - bx0:.1f}" height="{ph}" fill="{band.color}" '
                    f'fill-opacity="{band.opacity}"><title>{escape(band.label)}</title></rect>'
                )
        out += self._grid(sx, sy, x0, x1, y0, y1)
        for t in self.thresholds:
            if y0 <= t.y <= y1:
                y = sy(t.y)
                out.append(
                    f'<line x1="{self.left}" x2="{self.left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{t.color}" '
                    f'stroke-dasharray="6 4" stroke-width="1.2"/>'
                    f'<text x="{self.left + pw - 4}" y="{y - 4:.1f}" class="tl" text-anchor="end" fill="{t.color}">'
                    f"{escape(t.label)}</text>"
                )
        for line in self.lines:
            out += self._polylines(line, sx, sy)
        out += self._markers(sx, x0, x1, ph)
        out += self._legend()
        out.append("</svg>")
        return "\n".join(out)

    def _grid(self, sx, sy, x0: float, x1: float, y0: float, y1: float) -> list[str]:  # noqa: ANN001
        pw, ph = self.width - self.left - self.right, self.height - self.top - self.bottom
        parts = [f'<rect x="{self.left}" y="{self.top}" width="{pw}" height="{ph}" class="frame"/>']
        if self.log_y:
            ticks = [10**k * m for k in range(math.floor(math.log10(y0)), math.ceil(math.log10(y1)) + 1) for m in (1, 2, 5)]
            ticks = [t for t in ticks if y0 <= t <= y1]
        else:
            step = nice_step(y1 - y0, 4)
            ticks = [y0 + i * step for i in range(int(round((y1 - y0) / step)) + 1)]
        for t in ticks:
            y = sy(t)
            parts.append(f'<line x1="{self.left}" x2="{self.left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            parts.append(f'<text x="{self.left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_fmt(t)}{self.y_suffix}</text>')
        step = nice_step(x1 - x0, 10)
        first = math.ceil(x0 / step) * step
        n = int((x1 - first) / step + 1e-9)
        for i in range(n + 1):
            x = first + i * step
            parts.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{self.top}" y2="{self.top + ph}" class="grid"/>')
            parts.append(f'<text x="{sx(x):.1f}" y="{self.top + ph + 16}" class="tick" text-anchor="middle">{_fmt(x)}</text>')
        parts.append(
            f'<text x="{self.left + pw / 2:.0f}" y="{self.height - 6}" class="axis" text-anchor="middle">{escape(self.x_label)}</text>'
        )
        parts.append(
            f'<text transform="translate(14 {self.top + ph / 2:.0f}) rotate(-90)" class="axis" text-anchor="middle">'
            f"{escape(self.y_label)}</text>"
        )
        return parts

    def _polylines(self, line: Line, sx, sy) -> list[str]:  # noqa: ANN001
        runs: list[list[str]] = [[]]
        for x, y in line.points:
            if y is None or (self.log_y and y <= 0):
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(f"{sx(x):.1f},{sy(y):.1f}")
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        return [
            f'<polyline class="series" data-series="{escape(line.label)}" points="{" ".join(run)}" fill="none" '
            f'stroke="{line.color}" stroke-width="{line.width}" stroke-linejoin="round"{dash}/>'
            for run in runs
            if run
        ]

    def _markers(self, sx, x0: float, x1: float, ph: float) -> list[str]:  # noqa: ANN001
        parts: list[str] = []
        last_x, level = -1e9, 0
        for marker in sorted(self.markers, key=lambda m: m.x):
            if not x0 <= marker.x <= x1:
                continue
            x = sx(marker.x)
            level = level + 1 if x - last_x < 150 else 0  # stagger labels that would overlap
            last_x = x
            y_label = self.top - 6 if level == 0 else self.top + 12 * level
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.top}" y2="{self.top + ph}" stroke="{marker.color}" '
                f'stroke-width="1.5"/><text x="{x + 3:.1f}" y="{y_label:.1f}" class="ml" fill="{marker.color}">'
                f"{escape(marker.label)}</text>"
            )
        return parts

    def _legend(self) -> list[str]:
        parts: list[str] = []
        x = self.left + 8 + 7.5 * _columns(self.title) + 24
        for line in self.lines:
            dash = ' stroke-dasharray="5 3"' if line.dashed else ""
            parts.append(
                f'<line x1="{x:.0f}" x2="{x + 18:.0f}" y1="14" y2="14" stroke="{line.color}" stroke-width="2.5"{dash}/>'
                f'<text x="{x + 22:.0f}" y="18" class="lg">{escape(line.label)}</text>'
            )
            x += 22 + 7 * _columns(line.label) + 18
        return parts
