"""The SLO over a window: slo-baseline, slo-after-recovery, availability (over the whole drill).

All three judge latency (the window's percentiles, or each second's), so each names its window: a
saturated load generator there makes the verdict inconclusive (see `verify.checks.judge`)."""

from __future__ import annotations

from common.messages import gettext as _
from verify.checks.base import Check, CheckContext, Needs
from verify.journal import CheckRecord
from verify.slo import Slo
from verify.windows import WindowStats


def _figures(w: WindowStats) -> str:
    return _(
        "{seconds} s, {requests:,} requests, {rps:,.0f} RPS, p90 {p90:,.0f} ms, p95 {p95:,.0f} ms, p99 {p99:,.0f} ms, "
        "errors {errors:.2%}, available {available:.2%}"
    ).format(seconds=w.seconds, requests=w.requests, rps=w.achieved_rps, p90=w.p90_ms, p95=w.p95_ms, p99=w.p99_ms,
             errors=w.error_rate, available=w.availability)


def _window_check(name: str, window: WindowStats | None, slo: Slo, missing: str) -> CheckRecord:
    if window is None:
        return CheckRecord(name=name, passed=False, limit=slo.p95_ms, unit="ms", detail=missing)
    broken = window.violations(slo, availability=False)
    detail = _figures(window) + ("; " + _("broken: {what}").format(what="; ".join(broken)) if broken else "")
    return CheckRecord(name=name, passed=not broken, value=round(window.p95_ms, 3), limit=slo.p95_ms, unit="ms", detail=detail)


def _baseline(ctx: CheckContext) -> CheckRecord:
    return _window_check(SLO_BASELINE.name, ctx.windows.baseline, ctx.slo, "")


def _after_recovery(ctx: CheckContext) -> CheckRecord:
    t = ctx.timings
    missing = _("no fault was injected") if t.fault_at is None else _("no after-recovery window: {why}").format(
        why=t.not_recovered)
    return _window_check(SLO_AFTER_RECOVERY.name, ctx.windows.after_recovery, ctx.slo, missing)


def _availability(ctx: CheckContext) -> CheckRecord:
    window, slo = ctx.windows.whole, ctx.slo
    held = window.seconds > 0 and window.availability >= slo.availability
    detail = _("SLO held in {healthy} of {seconds} s").format(healthy=window.healthy_seconds, seconds=window.seconds)
    if window.zero_traffic_seconds:
        detail += " " + _("({seconds} s without any traffic)").format(seconds=window.zero_traffic_seconds)
    return CheckRecord(
        name=AVAILABILITY.name, passed=held, value=round(window.availability, 6),
        limit=slo.availability, unit="ratio", detail=detail,
    )


SLO_BASELINE = Check(
    "slo-baseline", "the SLO held during the baseline, before any fault", _baseline, Needs(baseline=True),
    latency_window=lambda w: w.baseline,
)
SLO_AFTER_RECOVERY = Check(
    "slo-after-recovery", "the SLO held over the sustained window after recovery", _after_recovery, Needs(fault=True),
    latency_window=lambda w: w.after_recovery,
)
AVAILABILITY = Check(
    "availability", "share of good seconds over the whole drill >= slo.availability", _availability, by_default=False,
    latency_window=lambda w: w.whole,
)
