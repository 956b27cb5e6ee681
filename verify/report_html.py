"""`report.html`: one self-contained page per drill (inline CSS and SVG, no script, opens offline)."""

from __future__ import annotations

import math
from collections import deque
from html import escape
from pathlib import Path

from common.messages import current
from common.messages import gettext as _
from verify.alarm import period_error_rates
from verify.charts import Band, Line, Marker, SvgChart, Threshold, nice_step, steps
from verify.drill import window_title
from verify.journal import Journal, Verdict, iso
from verify.report_data import ReportData, report_data, unit_title
from verify.report_gameday import html_section
from verify.slo import DetectionModelName
from verify.windows import WindowStats, sample_latencies

CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans KR",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1000px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#5b6475}.badge{display:inline-block;padding:3px 10px;border-radius:4px;font-weight:700;color:#fff}
.ok{background:#2f9e44}.bad{background:#d9480f}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px;min-width:170px;flex:1}
.card .k{color:#5b6475;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:20px;font-weight:600}
.card .l{font-size:12px;color:#5b6475}.card.fail{border-color:#e8590c;background:#fff4ec}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{padding:5px 8px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}th{background:#f0f2f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#2b8a3e;font-weight:700}.fail{color:#d9480f;font-weight:700}.inconclusive{color:#b08900;font-weight:700}.detail{color:#3c4454;font-size:13px}
.chartbox{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:10px 0;padding:4px}
svg .ct{font-size:14px;font-weight:600;fill:#1d2330}svg .tick{font-size:11px;fill:#5b6475}
svg .axis{font-size:11px;fill:#5b6475}svg .grid{stroke:#e6e8ec;stroke-width:1}svg .frame{fill:none;stroke:#c9ced6}
svg .tl{font-size:11px;paint-order:stroke;stroke:#fff;stroke-width:3px}svg .ml{font-size:11px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}svg .lg{font-size:12px;fill:#1d2330}
.note{background:#fff8db;border:1px solid #f2d675;padding:8px 12px;border-radius:6px}
footer{margin-top:32px;color:#8a92a3;font-size:12px}
"""


def _e(text: str) -> str:
    """A message as HTML text (messages are text, never markup; quotes need no escaping outside attributes)."""
    return escape(text, quote=False)


def _p(text: str, css: str = "") -> str:
    return f'<p class="{css}">{_e(text)}</p>' if css else f"<p>{_e(text)}</p>"


def _num(value: float | None, fmt: str = "{:,.1f}", unit: str = "") -> str:
    return "-" if value is None else fmt.format(value) + unit


def _charts(data: ReportData) -> list[str]:
    seconds = data.seconds()
    health = data.health()
    if not seconds:
        return [_p(_("No per-second samples were recorded: nothing to chart."), "note")]
    xs = [s.t - data.origin for s in seconds]
    lat = [sample_latencies(s) for s in seconds]
    cause = 0.0 if data.timings.fault_at is not None else None  # the fault line: no effect is drawn before it

    def per_second(values: list[float | None]) -> list[tuple[float, float | None]]:
        return steps(list(zip(xs, values)), 1.0, cause)

    bands, markers = _overlays(data)
    x_label = _("seconds since the fault") if data.timings.fault_at is not None else _("seconds since load start")
    charts: list[SvgChart] = []

    rps = SvgChart(_("Throughput"), _("requests / s"), x_label, css_class="chart chart-rps", bands=bands, markers=markers)
    rps.lines.append(Line(_("achieved RPS"), per_second([float(s.requests) for s in seconds]), "#1c7ed6"))
    rps.lines.append(Line(_("failed / s"), per_second([float(s.failed) for s in seconds]), "#e03131"))
    if any(s.target_rps for s in seconds):
        rps.lines.append(Line(_("target RPS"), per_second([s.target_rps for s in seconds]), "#868e96", dashed=True))
    if data.slo.min_rps:
        rps.thresholds.append(Threshold(data.slo.min_rps, _("min {rps:,.0f} RPS").format(rps=data.slo.min_rps)))
    charts.append(rps)

    latency = SvgChart(_("Latency (log scale)"), "ms", x_label, log_y=True, css_class="chart chart-latency",
                       bands=bands, markers=markers)
    latency.lines.append(Line("p90", per_second([l.p90_ms if s.requests else None for l, s in zip(lat, seconds)]), "#f08c00"))
    latency.lines.append(Line("p95", per_second([l.p95_ms if s.requests else None for l, s in zip(lat, seconds)]), "#7048e8"))
    latency.thresholds += [
        Threshold(data.slo.p90_ms, f"SLO p90 {data.slo.p90_ms:,.0f} ms", "#f08c00"),
        Threshold(data.slo.p95_ms, f"SLA p95 {data.slo.p95_ms:,.0f} ms", "#7048e8"),
    ]
    if data.alarm.latency_ms_above:
        latency.thresholds.append(Threshold(
            data.alarm.latency_ms_above, _("alarm {ms:,.0f} ms").format(ms=data.alarm.latency_ms_above), "#c92a2a"))
    charts.append(latency)

    errors = SvgChart(_("Error rate"), _("% of requests"), x_label, y_min=0, y_suffix="%", css_class="chart chart-errors",
                      bands=bands, markers=markers)
    errors.lines.append(Line(_("per second"), per_second([100 * s.error_rate if s.requests else None for s in seconds]), "#e03131"))
    period = data.alarm.whole_period_s
    if data.alarm.model is DetectionModelName.TRAILING:
        trailing = per_second(_trailing_error_pct(seconds, period))
        errors.lines.append(Line(_("over the trailing {period} s").format(period=period), trailing, "#343a40"))
    else:
        datapoints = [(start - data.origin, None if rate is None else 100 * rate)
                      for start, rate in period_error_rates(seconds, period)]
        errors.lines.append(Line(_("alarm datapoints ({period} s periods)").format(period=period),
                                 steps(datapoints, period, cause), "#343a40"))
    errors.thresholds.append(Threshold(100 * data.slo.error_rate, f"SLO {data.slo.error_rate:.0%}", "#2b8a3e"))
    if data.alarm.error_rate_above is not None:
        errors.thresholds.append(Threshold(
            100 * data.alarm.error_rate_above, _("alarm {rate:.0%}").format(rate=data.alarm.error_rate_above),
            "#c92a2a"))
    charts.append(errors)

    out = [f'<div class="chartbox">{chart.render()}</div>' for chart in charts]
    out.append(f'<div class="chartbox">{_health_strip(data, xs, health)}</div>')
    if data.journal.served_by:
        out.append(f'<div class="chartbox">{_served_strip(data, xs)}</div>')
    return out


def _legend(data: ReportData) -> str:
    if data.timings.fault_at is None:
        return _p(_("No fault was injected in this run."), "detail")
    return _p(_("Time 0 is the fault injection. Red shading: from the fault until the SLO held again for the sustained "
              "window; blue shading: a remediation running. Times in UTC."), "detail")


def _trailing_error_pct(seconds, period: int) -> list[float | None]:  # noqa: ANN001
    window: deque[tuple[int, int]] = deque()
    req = fail = 0
    out: list[float | None] = []
    for s in seconds:
        window.append((s.requests, s.failed))
        req, fail = req + s.requests, fail + s.failed
        if len(window) > period:
            r, f = window.popleft()
            req, fail = req - r, fail - f
        out.append(100 * fail / req if req else None)
    return out


def _overlays(data: ReportData) -> tuple[list[Band], list[Marker]]:
    t = data.timings
    bands: list[Band] = []
    markers: list[Marker] = []
    if t.fault_at is None:
        return bands, markers
    end = data.recovered_at if data.recovered_at is not None else max(s.t + 1 for s in data.journal.series)
    bands.append(Band(0.0, end - data.origin, _("fault until recovery")))
    for rem in data.journal.remediations:
        if rem.ended_at is not None and rem.ended_at >= t.fault_at:
            bands.append(Band(rem.started_at - data.origin, rem.ended_at - data.origin,
                              _("remediation {action}").format(action=rem.action), "#1c7ed6", 0.12))
    markers.append(Marker(0.0, _("fault injected"), "#c92a2a"))
    if data.first_bad_at is not None and data.first_bad_s is not None and data.first_bad_s >= 1:
        markers.append(Marker(data.first_bad_at - data.origin, _("first bad +{seconds:,.1f} s").format(
            seconds=data.first_bad_s), "#f08c00"))
    if data.detected_at is not None:
        markers.append(Marker(data.detected_at - data.origin, _("alarm +{seconds:,.1f} s").format(
            seconds=data.detection_s), "#e8590c"))
    if data.remediated_at is not None:
        markers.append(Marker(data.remediated_at - data.origin, _("remediated"), "#1864ab"))
    if data.recovered_at is not None:
        markers.append(Marker(data.recovered_at - data.origin, _("recovered +{seconds:,.1f} s").format(
            seconds=data.recovery_s), "#2b8a3e"))
    return bands, markers


# Regions in the order they first answer: the primary blue, the failover region orange, then others.
_REGION_COLORS = ("#1c7ed6", "#f08c00", "#7048e8", "#0ca678")
_NO_ANSWER = "#fa5252"


def _served_strip(data: ReportData, xs: list[float]) -> str:
    """Which region answered the clients' path each second (a region drill's failover, visible)."""
    width, left, right = 960, 64, 16
    pw = width - left - right
    x0, x1 = xs[0], xs[-1] + 1
    scale = pw / (x1 - x0)
    served = sorted((t - data.origin, who) for t, who in data.journal.served_by.items())
    regions = list(dict.fromkeys(who for _, who in served if not who.startswith("no answer")))
    colors = {region: _REGION_COLORS[i % len(_REGION_COLORS)] for i, region in enumerate(regions)}
    runs: list[tuple[float, float, str]] = []  # one rect per run of seconds with the same answer
    for x, who in served:
        if runs and runs[-1][2] == who and runs[-1][1] == x:
            runs[-1] = (runs[-1][0], x + 1, who)
        else:
            runs.append((x, x + 1, who))
    rects = []
    for start, stop, who in runs:
        if stop <= x0 or start >= x1:
            continue
        span = (f"{start:+.0f} s" if stop - start == 1
                else _("{start:+.0f} to {stop:+.0f} s").format(start=start, stop=stop))
        rects.append(f'<rect x="{left + (max(start, x0) - x0) * scale:.2f}" y="26" '
                     f'width="{max((min(stop, x1) - max(start, x0)) * scale, 0.6):.2f}" height="18" '
                     f'fill="{colors.get(who, _NO_ANSWER)}"><title>{span}: {escape(who)}</title></rect>')
    shades = (_("blue"), _("orange"), _("purple"), _("green"))  # the names of _REGION_COLORS, for the title
    legend = ", ".join(f"{region} {shades[i % len(shades)]}" for i, region in enumerate(regions))
    title = _("Region serving the clients' path ({legend}; red: no answer)").format(
        legend=escape(legend) or _("none answered"))
    return (f'<svg class="chart chart-served" viewBox="0 0 {width} 52" width="100%" role="img" '
            f'aria-label="{title}"><title>{title}</title><text x="{left}" y="18" class="ct">{title}</text>'
            + "".join(rects) + "</svg>")


def _health_strip(data: ReportData, xs: list[float], health) -> str:  # noqa: ANN001
    width, left, right = 960, 64, 16
    pw = width - left - right
    x0, x1 = xs[0], xs[-1] + 1
    scale = pw / (x1 - x0)
    rects = []
    # One rect per run of seconds in the same state keeps a 2-hour drill's page small.
    runs: list[tuple[float, float, str, str]] = []
    cause = 0.0 if data.timings.fault_at is not None else None
    for x, h in zip(xs, health):
        color = "#40c057" if h.healthy else ("#adb5bd" if h.requests == 0 else "#fa5252")
        why = _("SLO held") if h.healthy else "; ".join(h.reasons)
        start = x
        if cause is not None and x < cause < x + 1 and runs:  # the fault's second: its state starts at the fault
            runs[-1] = (runs[-1][0], cause, runs[-1][2], runs[-1][3])
            start = cause
        if runs and runs[-1][2] == color and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], x + 1, color, runs[-1][3])
        else:
            runs.append((start, x + 1, color, why))
    for start, stop, color, why in runs:
        span = (f"{start:+.1f} s" if stop - start == 1
                else _("{start:+.1f} to {stop:+.1f} s").format(start=start, stop=stop))
        rects.append(f'<rect x="{left + (start - x0) * scale:.2f}" y="26" width="{max((stop - start) * scale, 0.6):.2f}" '
                     f'height="18" fill="{color}"><title>{span}: {escape(why)}</title></rect>')
    step = nice_step(x1 - x0, 10)
    ticks = [math.ceil(x0 / step) * step + i * step for i in range(int((x1 - x0) / step) + 2)]
    labels = [f'<text x="{left + (t - x0) * scale:.1f}" y="58" class="tick" text-anchor="middle">{t:g}</text>'
              for t in ticks if x0 <= t <= x1]
    title = _("SLO per second: green held, red broken, grey no traffic")
    return (f'<svg class="chart chart-health" viewBox="0 0 {width} 64" width="100%" '
            f'role="img" aria-label="{title}"><title>{title}</title><text x="{left}" y="18" class="ct">{title}</text>'
            + "".join(rects) + "".join(labels) + "</svg>")


def _cards(data: ReportData) -> str:
    j = data.journal
    items: list[tuple[str, str, str, bool]] = []
    no_fault = data.timings.fault_at is None
    items.append((_("first bad second"), _num(data.first_bad_s, "+{:,.1f}", " s"), _("what the load saw first"), True))
    by = f"{data.detected_by_text}: " if data.detected_by else ""
    items.append((_("alarm (paged)"), _num(data.detection_s, "+{:,.1f}", " s"), f"{by}{_rule_text(data)}",
                  data.detection_s is not None or no_fault))
    rto_ok = data.recovery_s is not None and (j.rto_s is None or data.recovery_s <= j.rto_s)
    items.append((_("recovery time"), _num(data.recovery_s, unit=" s"), f"RTO {_num(j.rto_s, '{:,.0f}', ' s')}", rto_ok or data.timings.fault_at is None))
    rpo = j.ledger.rpo_s if j.ledger else None
    rpo_ok = j.ledger is None or j.ledger.lost == 0 or (rpo is not None and j.rpo_s is not None and rpo <= j.rpo_s)
    rpo_limit = _("limit {limit}").format(limit=_num(j.rpo_s, "{:,.0f}", " s"))
    items.append((_("data loss (RPO)"), _num(rpo, unit=" s"), rpo_limit, rpo_ok))
    base = data.windows.baseline
    items.append((_("baseline p95"), _num(base.p95_ms, "{:,.0f}", " ms"), f"SLA {data.slo.p95_ms:,.0f} ms", base.p95_ms <= data.slo.p95_ms))
    return '<div class="cards">' + "".join(
        f'<div class="card{"" if ok else " fail"}"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="l">{escape(limit)}</div></div>'
        for k, v, limit, ok in items
    ) + "</div>"


def _rule_text(data: ReportData) -> str:
    return data.alarm.describe()


def _table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(text: str, css: str = "") -> str:
    return f'<td class="{css}">{escape(text)}</td>' if css else f"<td>{escape(text)}</td>"


def _checks_table(journal: Journal) -> str:
    if not journal.checks:
        return _p(_("No checks were recorded in this journal."), "note")
    rows = []
    for c in journal.checks:
        value = "-" if c.value is None else (f"{c.value:,.3g}" if isinstance(c.value, float) else str(c.value))
        limit = "-" if c.limit is None else (f"{c.limit:,.3g}" if isinstance(c.limit, float) else str(c.limit))
        unit = unit_title(c.unit)
        value = value if c.value is None else f"{value} {unit}".strip()
        limit = limit if c.limit is None else f"{limit} {unit}".strip()
        verdict = {Verdict.PASSED: _("PASS"), Verdict.FAILED: _("FAIL"),
                   Verdict.INCONCLUSIVE: _("INCONCLUSIVE")}[c.verdict]
        rows.append([_td(c.name), _td(verdict, c.verdict.value.replace("passed", "pass").replace("failed", "fail")),
                     _td(value, "num"), _td(limit, "num"), _td(c.detail, "detail")])
    return _table([_("check"), _("verdict"), _("value"), _("limit"), _("detail")], rows, "checks")


def _windows_table(data: ReportData) -> str:
    rows = []
    for w in data.windows.all():
        rows.append([_td(window_title(w.name))] + [_td(v, "num") for v in _window_cells(w)])
    return _table([_("window"), _("seconds"), _("requests"), "RPS", "p90 ms", "p95 ms", "p99 ms", _("errors"),
                   _("availability")], rows)


def _window_cells(w: WindowStats) -> list[str]:
    return [f"{w.seconds:,}", f"{w.requests:,}", f"{w.achieved_rps:,.0f}", f"{w.p90_ms:,.0f}", f"{w.p95_ms:,.0f}",
            f"{w.p99_ms:,.0f}", f"{w.error_rate:.2%}", f"{w.availability:.1%}"]


def _actions(data: ReportData) -> str:
    j = data.journal
    faults = [[_td(f.action), _td(", ".join(f"{k}={v}" for k, v in f.parameters.items()) or "-"),
               _td(_rel_text(data, f.injected_at), "num"), _td(_rel_text(data, f.reverted_at), "num"),
               _td(f.revert_error or (_("reverted") if f.reverted_at else _("NOT REVERTED")), "detail")] for f in j.faults]
    rems = [[_td(r.action), _td(", ".join(f"{k}={v}" for k, v in r.parameters.items()) or "-"),
             _td(_rel_text(data, r.started_at), "num"), _td(_rel_text(data, r.ended_at), "num"),
             _td(r.error or (_("ok, but: {shortfalls}").format(shortfalls="; ".join(r.shortfalls)) if r.shortfalls
                             else _("ok")), "detail")]
            for r in j.remediations]
    out = _h2(_("Faults injected and reverted"))
    out += (_table([_("fault"), _("parameters"), _("injected"), _("reverted"), _("state")], faults) if faults
            else _p(_("No fault was injected.")))
    out += _h2(_("Remediations"))
    out += (_table([_("action"), _("parameters"), _("started"), _("ended"), _("result")], rems) if rems
            else _p(_("No remediation ran.")))
    return out


def _h2(text: str) -> str:
    return f"<h2>{_e(text)}</h2>"


def _rel_text(data: ReportData, ts: float | None) -> str:
    rel = data.rel(ts)
    return "-" if rel is None else f"{rel:+,.1f} s"


def _ledger(journal: Journal) -> str:
    led = journal.ledger
    if led is None:
        return _h2(_("Write ledger")) + _p(_("No write ledger was read back."))
    rows = [[_td(k), _td(v, "num")] for k, v in (
        (_("writes"), f"{led.writes:,}"), (_("acknowledged"), f"{led.acknowledged:,}"),
        (_("unknown outcome"), f"{led.unknown:,}"), (_("lost"), f"{led.lost:,}"), (_("corrupted"), f"{led.corrupted:,}"),
        (_("unexpected"), f"{led.unexpected:,}"), (_("measured RPO"), _num(led.rpo_s, unit=" s")),
        (_("RPO limit"), _num(journal.rpo_s, "{:,.0f}", " s")),
    )]
    out = _h2(_("Write ledger (read back after recovery)")) + _table([_("measure"), _("value")], rows, "ledger")
    if led.lost_ids:
        ids = ", ".join(led.lost_ids[:20]) + (" ..." if len(led.lost_ids) > 20 else "")
        out += _p(_("lost: {ids}").format(ids=ids), "detail")
    if led.corrupted_ids:
        out += _p(_("corrupted: {ids}").format(ids=", ".join(led.corrupted_ids[:20])), "detail")
    return out


def render_html(journal: Journal) -> str:
    data = report_data(journal)
    j = journal
    badge = "ok" if data.verdict_ok else "bad"
    note = f'<p class="note">{escape(j.reason)}</p>' if j.reason else ""
    if j.expected_to_fail:
        note += _p(_("This scenario is expected to fail (a negative control)."), "note")
    title = _("{scenario} drill: {verdict}").format(scenario=j.scenario, verdict=data.verdict_text)
    run = _("run {run_id} · profile {profile} (time scale {time_scale:g}) · target {target} {target_kind} · "
            "{started} → {ended}").format(run_id=j.run_id, profile=j.profile, time_scale=j.time_scale, target=j.target,
                                          target_kind=j.target_kind, started=iso(j.started_at), ended=iso(j.ended_at))
    footer = _("hanbit-drill report · rendered from journal.json · SLO p90 < {p90:,.0f} ms, p95 < {p95:,.0f} ms, "
               "errors < {errors:.1%}, availability ≥ {availability:.1%}").format(
        p90=data.slo.p90_ms, p95=data.slo.p95_ms, errors=data.slo.error_rate, availability=data.slo.availability)
    parts = [
        # The page's language is the language it is written in (screen readers, fonts, spell checkers).
        "<!DOCTYPE html>", f'<html lang="{current().lang}"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style></head><body><main>",
        f'<h1>{escape(j.scenario)} <span class="badge {badge}">{_e(data.verdict_text)}</span></h1>',
        f'<div class="sub">{escape(j.description)}</div>',
        f'<div class="sub">{_e(run)}</div>',
        note, _cards(data), _h2(_("Checks")), _checks_table(j), _h2(_("Per second")), _legend(data), *_charts(data),
        _h2(_("SLO by window")), _windows_table(data), _actions(data), html_section(j), _ledger(j),
        f"<footer>{_e(footer)}</footer></main></body></html>",
    ]
    return "\n".join(parts)


def write_html(journal: Journal, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(journal), encoding="utf-8")
    return path
