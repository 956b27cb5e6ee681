"""The quarterly load-test report: capacity knee (RPS vs p90/p95/error charts), soak drift, seed targets.

`QuarterlyReport` holds what was measured; each part is optional (`hanbit-drill capacity` renders only
its own). Console output is rich; the HTML page is self-contained (the drill report's CSS, inline SVG).
The seed targets are the operations manual's: > 1,000 RPS, > 10,000 concurrent users, p90 < 200 ms.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table
from rich.text import Text

from verify.capacity import CapacityResult
from verify.capacity_history import CapacityComparison
from verify.charts import Line, Marker, SvgChart, Threshold
from verify.report_html import CSS
from verify.soak import SoakResult


class SeedTargets(BaseModel):
    min_rps: float = 1000.0
    min_users: int = 10_000
    p90_ms: float = 200.0


class SeedCheck(BaseModel):
    name: str
    target: str
    measured: str
    passed: bool
    source: str  # which run measured it


def seed_checks(capacity: CapacityResult | None, soak: SoakResult | None, targets: SeedTargets) -> list[SeedCheck]:
    """The manual's throughput, users and latency targets, each judged from the run that measured it."""
    checks: list[SeedCheck] = []
    if capacity is not None:
        knee = capacity.knee_rps or 0.0
        checks.append(SeedCheck(
            name="throughput within the SLO", target=f">= {targets.min_rps:,.0f} RPS", source="capacity knee",
            measured=f"{knee:,.0f} RPS" + (" (generator-limited: a lower bound)" if capacity.limited_by_generator else ""),
            passed=knee >= targets.min_rps))
    if soak is not None:
        o = soak.overall
        checks.append(SeedCheck(name="sustained throughput", target=f">= {targets.min_rps:,.0f} RPS", source="soak",
                                measured=f"{o.achieved_rps:,.0f} RPS", passed=o.achieved_rps >= targets.min_rps))
        users = f"{soak.peak_users:,}" if soak.model == "closed" else "not measured (open model)"
        checks.append(SeedCheck(name="concurrent users", target=f">= {targets.min_users:,}", source="soak",
                                measured=users, passed=soak.model == "closed" and soak.peak_users >= targets.min_users))
        checks.append(SeedCheck(name="p90 under sustained load", target=f"< {targets.p90_ms:,.0f} ms", source="soak",
                                measured=f"{o.p90_ms:,.1f} ms", passed=o.requests > 0 and o.p90_ms < targets.p90_ms))
    return checks


class QuarterlyReport(BaseModel):
    title: str = "Quarterly load test"
    target: str
    profile: str = ""
    generated_at: float = Field(default_factory=time.time)
    capacity: CapacityResult | None = None
    comparison: CapacityComparison | None = None
    soak: SoakResult | None = None
    seed: list[SeedCheck] = Field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Why the quarter's answer is not a clean pass (empty: every target met, nothing regressed)."""
        out = [f"seed target missed: {c.name} {c.measured} (target {c.target})" for c in self.seed if not c.passed]
        if self.comparison is not None:
            out += [f"regression: {r.measure} {r.previous} -> {r.current}" for r in self.comparison.regressions]
        if self.soak is not None:
            out += [f"soak: {f}" for f in self.soak.flags]
        return out


# ---- console --------------------------------------------------------------------------------


def _rps(value: float | None) -> str:
    return "none" if value is None else f"{value:,.0f} RPS"


def render_console(report: QuarterlyReport, console: Console | None = None) -> None:
    console = console or Console()
    if report.capacity is not None:
        _console_capacity(report.capacity, report.comparison, console)
    if report.soak is not None:
        _console_soak(report.soak, console)
    if report.seed:
        table = Table(title="Seed targets (operations manual)", title_justify="left")
        for name in ("target", "required", "measured", "by", "verdict"):
            table.add_column(name)
        for c in report.seed:
            table.add_row(c.name, c.target, c.measured, c.source,
                          Text("met" if c.passed else "missed", style="green" if c.passed else "bold red"))
        console.print(table)


def _console_capacity(cap: CapacityResult, comparison: CapacityComparison | None, console: Console) -> None:
    table = Table(title=f"Capacity search on {cap.target} ({cap.mode.value}, hold {cap.hold_s:g} s, "
                        f"settle {cap.settle_s:g} s)", title_justify="left")
    for name in ("RPS", "achieved", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "errors", "gen. sat.", "verdict"):
        table.add_column(name, justify="left" if name == "verdict" else "right", no_wrap=True)
    for s in cap.steps:
        verdict = Text("met", style="green") if s.met else Text(f"broke: {s.broke_because}", style="red")
        table.add_row(f"{s.rate_rps:,.0f}", f"{s.achieved_rps:,.0f}", f"{s.p50_ms:,.1f}", f"{s.p90_ms:,.1f}",
                      f"{s.p95_ms:,.1f}", f"{s.p99_ms:,.1f}", f"{s.error_rate:.2%}", f"{s.saturated_seconds} s", verdict)
    console.print(table)
    console.print(f"[bold]knee[/] {_rps(cap.knee_rps)}  ", end="")
    if cap.broke_at_rps is None:
        console.print(f"(the SLO held up to max-rps {cap.max_rps:,.0f})")
    else:
        console.print(f"[red]broke at {_rps(cap.broke_at_rps)} because of {cap.broke_because}[/]: "
                      + "; ".join(cap.broke_reasons))
    if comparison is not None:
        console.print(_comparison_text(comparison), style="bold red" if comparison.regressed else None)


def _comparison_text(c: CapacityComparison) -> str:
    if c.previous is None:
        return c.note
    change = "" if c.knee_change is None else f" ({c.knee_change:+.0%})"
    head = "REGRESSION: " if c.regressed else ""
    text = (f"{head}knee {_rps(c.current.knee_rps)} vs {_rps(c.previous.knee_rps)} in run {c.previous.run_id} "
            f"({c.previous.date}){change}; threshold {c.threshold:.0%}")
    return text + (f". {c.note}" if c.note else "")


def _console_soak(soak: SoakResult, console: Console) -> None:
    load = f"{soak.users:,} users" if soak.model == "closed" else f"{soak.rps:,.0f} RPS"
    table = Table(title=f"Soak on {soak.target}: {load} for {soak.duration_s:,.0f} s (warm-up {soak.warmup_s:g} s)",
                  title_justify="left")
    for name in ("window", "RPS", "p90", "p95", "errors", "service RSS"):
        table.add_column(name, justify="right")
    for w in soak.windows:
        rss = "-" if w.rss_mb is None else f"{w.rss_mb:,.0f} MB"
        table.add_row(f"+{w.start_t - soak.windows[0].start_t + soak.warmup_s:,.0f} s", f"{w.achieved_rps:,.0f}",
                      f"{w.p90_ms:,.1f}", f"{w.p95_ms:,.1f}", f"{w.error_rate:.2%}", rss)
    console.print(table)
    mem = soak.memory
    console.print(f"drift p90 {_pct(soak.p90_drift_pct)}, p95 {_pct(soak.p95_drift_pct)} "
                  f"(trend {soak.p95_trend_ms_per_h:+,.1f} ms/h), errors {soak.error_rate_drift:+.2%}; memory "
                  + ("not measured on this target" if mem is None else
                     f"{mem.first_mb:,.0f} -> {mem.last_mb:,.0f} MB ({mem.growth_pct:+.0%}, {mem.trend_mb_per_h:+,.0f} MB/h)"))
    for flag in soak.flags:
        console.print(f"DRIFT {flag}", style="bold red")
    if soak.generator_saturated_seconds:
        console.print(_saturation_note(soak), style="yellow")
    for violation in soak.slo_violations:
        console.print(f"SLO broken over the soak: {violation}", style="bold red")


def _saturation_note(soak: SoakResult) -> str:
    return (f"the load generator was saturated in {soak.generator_saturated_seconds} of {soak.seconds} s: latency "
            "in those seconds includes its own delay (add --workers or remote workers)")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0%}"


# ---- HTML -----------------------------------------------------------------------------------


def capacity_charts(cap: CapacityResult) -> list[SvgChart]:
    """RPS on x: p90/p95 of each step (with the SLO lines), and its error rate; knee and break marked."""
    steps = sorted(cap.steps, key=lambda s: s.rate_rps)
    markers = []
    if cap.knee_rps is not None:
        markers.append(Marker(cap.knee_rps, f"knee {cap.knee_rps:,.0f}", "#2b8a3e"))
    if cap.broke_at_rps is not None:
        markers.append(Marker(cap.broke_at_rps, f"broke {cap.broke_at_rps:,.0f}", "#c92a2a"))
    xs = [s.rate_rps for s in steps]
    # One empty step of room on the right, so a marker on the last step keeps its label.
    pad = [(max(xs, default=0.0) + cap.step_rps, None)]
    latency = SvgChart("Latency vs offered rate (log scale)", "ms", "offered rate (RPS)", log_y=True,
                       css_class="chart chart-capacity-latency", markers=markers)
    latency.lines += [Line("p90", list(zip(xs, [s.p90_ms or None for s in steps])) + pad, "#f08c00"),
                      Line("p95", list(zip(xs, [s.p95_ms or None for s in steps])), "#7048e8")]
    latency.thresholds += [Threshold(cap.slo.p90_ms, f"SLO p90 {cap.slo.p90_ms:,.0f} ms", "#f08c00"),
                           Threshold(cap.slo.p95_ms, f"SLA p95 {cap.slo.p95_ms:,.0f} ms", "#7048e8")]
    errors = SvgChart("Error rate vs offered rate", "% of requests", "offered rate (RPS)", y_min=0, y_suffix="%",
                      css_class="chart chart-capacity-errors", markers=markers)
    errors.lines.append(Line("error rate", list(zip(xs, [100 * s.error_rate for s in steps])) + pad, "#e03131"))
    errors.thresholds.append(Threshold(100 * cap.slo.error_rate, f"SLO {cap.slo.error_rate:.0%}", "#2b8a3e"))
    achieved = SvgChart("Achieved vs offered rate", "RPS", "offered rate (RPS)", y_min=0,
                        css_class="chart chart-capacity-rps", markers=markers)
    achieved.lines += [Line("achieved", list(zip(xs, [s.achieved_rps for s in steps])) + pad, "#1c7ed6"),
                       Line("offered", [(x, x) for x in xs], "#868e96", dashed=True)]
    return [latency, errors, achieved]


def soak_charts(soak: SoakResult) -> list[SvgChart]:
    t0 = soak.windows[0].start_t - soak.warmup_s
    xs = [((w.start_t + w.end_t) / 2 - t0) / 60 for w in soak.windows]
    latency = SvgChart("Soak latency per window", "ms", "minutes since load start", y_min=0,
                       css_class="chart chart-soak-latency")
    latency.lines += [Line("p90", list(zip(xs, [w.p90_ms or None for w in soak.windows])), "#f08c00"),
                      Line("p95", list(zip(xs, [w.p95_ms or None for w in soak.windows])), "#7048e8")]
    errors = SvgChart("Soak error rate per window", "% of requests", "minutes since load start", y_min=0, y_suffix="%",
                      css_class="chart chart-soak-errors")
    errors.lines.append(Line("error rate", list(zip(xs, [100 * w.error_rate for w in soak.windows])), "#e03131"))
    errors.thresholds.append(Threshold(100 * soak.slo.error_rate, f"SLO {soak.slo.error_rate:.0%}", "#2b8a3e"))
    charts = [latency, errors]
    if soak.memory is not None:
        rss = SvgChart("Service memory (RSS of all its processes)", "MB", "minutes since load start",
                       css_class="chart chart-soak-rss")
        rss.lines.append(Line("RSS", [((p.t - t0) / 60, p.rss_mb) for p in soak.memory.points], "#0c8599"))
        charts.append(rss)
    return charts


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(ok: bool, text: str) -> str:
    return f'<span class="{"pass" if ok else "fail"}">{escape(text)}</span>'


def _capacity_html(cap: CapacityResult, comparison: CapacityComparison | None) -> list[str]:
    broke = ("held up to max-rps" if cap.broke_at_rps is None
             else f"broke at {_rps(cap.broke_at_rps)}: {cap.broke_because} ({'; '.join(cap.broke_reasons)})")
    out = ["<h2>Capacity</h2>",
           (f'<div class="cards"><div class="card"><div class="k">knee</div><div class="v">{_rps(cap.knee_rps)}</div>'
            f'<div class="l">highest rate that met the SLO</div></div>'
            f'<div class="card{" fail" if cap.broke_at_rps else ""}"><div class="k">broke</div>'
            f'<div class="v">{_rps(cap.broke_at_rps)}</div><div class="l">{escape(broke)}</div></div></div>')]
    if comparison is not None:
        css = "note fail" if comparison.regressed else "note"
        out.append(f'<p class="{css} comparison">{escape(_comparison_text(comparison))}</p>')
    out += [f'<div class="chartbox">{chart.render()}</div>' for chart in capacity_charts(cap)]
    rows = [[f"{s.rate_rps:,.0f}", f"{s.achieved_rps:,.0f}", f"{s.p90_ms:,.1f}", f"{s.p95_ms:,.1f}",
             f"{s.error_rate:.2%}", f"{s.saturated_seconds} s",
             _verdict(s.met, "met" if s.met else f"{s.broke_because}: {'; '.join(s.reasons)}")] for s in cap.steps]
    out.append(_table(["rate (RPS)", "achieved", "p90 ms", "p95 ms", "errors", "gen. saturated", "verdict"], rows))
    return out


def _soak_html(soak: SoakResult) -> list[str]:
    mem = soak.memory
    memory = "not measured on this target" if mem is None else (
        f"{mem.first_mb:,.0f} → {mem.last_mb:,.0f} MB ({mem.growth_pct:+.0%}), peak {mem.peak_mb:,.0f} MB")
    out = ["<h2>Soak</h2>",
           (f"<p>p90 {_pct(soak.p90_drift_pct)}, p95 {_pct(soak.p95_drift_pct)} first → last window "
            f"(trend {soak.p95_trend_ms_per_h:+,.1f} ms/h); errors {soak.error_rate_drift:+.2%}; "
            f"service memory {escape(memory)}.</p>")]
    out += [f'<p class="note fail">drift: {escape(f)}</p>' for f in soak.flags]
    out += [f'<p class="note fail">SLO broken over the soak: {escape(v)}</p>' for v in soak.slo_violations]
    if soak.generator_saturated_seconds:
        out.append(f'<p class="note">{escape(_saturation_note(soak))}</p>')
    out += [f'<div class="chartbox">{chart.render()}</div>' for chart in soak_charts(soak)]
    return out


def render_html(report: QuarterlyReport) -> str:
    problems = report.problems
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(report.generated_at))
    badge = '<span class="badge ok">PASS</span>' if not problems else '<span class="badge bad">ATTENTION</span>'
    body = [f"<h1>{escape(report.title)} {badge}</h1>",
            f'<p class="sub">target {escape(report.target)}' + (f" · profile {escape(report.profile)}" if report.profile
                                                                 else "") + f" · {when}</p>"]
    body += [f'<p class="note">{escape(p)}</p>' for p in problems]
    if report.capacity is not None:
        body += _capacity_html(report.capacity, report.comparison)
    if report.soak is not None:
        body += _soak_html(report.soak)
    if report.seed:
        body.append("<h2>Seed targets (operations manual)</h2>")
        body.append(_table(["target", "required", "measured", "by", "verdict"],
                           [[escape(c.name), escape(c.target), escape(c.measured), escape(c.source),
                             _verdict(c.passed, "met" if c.passed else "missed")] for c in report.seed]))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)} — {escape(report.target)}</title><style>{CSS}</style></head><body><main>",
        *body, "<footer>hanbit-drill quarterly report · every figure measured</footer></main></body></html>",
    ])


def write_html(report: QuarterlyReport, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
