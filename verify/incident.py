"""An incident-log entry for a drill, in the operations manual's shape.

The manual logs every incident as: date, what failed, cause, how it was
resolved, how recurrence is prevented. A drill is a rehearsed incident: what
failed is the impact the load measured, the cause is the injected fault, the
resolution is the runbook remediation and the measured recovery, and the
prevention items follow from the checks that broke.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel

from verify.journal import Journal
from verify.report_data import ReportData, report_data


class IncidentEntry(BaseModel):
    date: str  # YYYY-MM-DD (UTC) of the drill
    run_id: str
    scenario: str
    target: str
    verdict: str
    what_failed: str
    cause: str
    resolution: str
    prevention: str

    def markdown(self) -> str:
        return (
            f"## {self.date} · {self.scenario} on {self.target} · {self.verdict.upper()}\n"
            f"- **Run:** `{self.run_id}`\n"
            f"- **What failed:** {self.what_failed}\n"
            f"- **Cause:** {self.cause}\n"
            f"- **Resolution:** {self.resolution}\n"
            f"- **Prevention:** {self.prevention}\n"
        )


def _params(parameters: dict) -> str:  # type: ignore[type-arg]
    return ", ".join(f"{k}={v}" for k, v in parameters.items())


def _what_failed(data: ReportData) -> str:
    during = data.windows.during_fault
    if during is None:
        return "nothing: no fault was injected (steady-state run)"
    if during.seconds == 0 or during.requests == 0:
        impact = "no traffic was served while the fault was in effect" if during.seconds else "no measurable impact"
    else:
        impact = (
            f"for {during.seconds} s the service answered {during.achieved_rps:,.0f} RPS with "
            f"{during.error_rate:.1%} errors and p95 {during.p95_ms:,.0f} ms; the SLO held in "
            f"{during.availability:.0%} of those seconds"
        )
    return f"{data.journal.scenario} drill: {impact}"


def _cause(data: ReportData) -> str:
    faults = [
        f"{f.action}" + (f" ({_params(f.parameters)})" if f.parameters else "") + f" via the {f.provider} provider"
        for f in data.journal.faults
        if f.injected_at is not None
    ]
    cause = "injected drill fault: " + "; ".join(faults) if faults else "no fault was injected"
    if data.journal.reason:
        cause += f". Run note: {data.journal.reason}"
    return cause


def _resolution(data: ReportData) -> str:
    j = data.journal
    steps = []
    for r in j.remediations:
        if data.timings.fault_at is not None and r.started_at < data.timings.fault_at:
            continue  # setup steps (e.g. the backup) are not part of the response
        took = "" if r.ended_at is None else f" in {r.ended_at - r.started_at:,.1f} s"
        steps.append(f"{r.action}" + (f" ({_params(r.parameters)})" if r.parameters else "") + took
                     + (f" FAILED: {r.error}" if r.error else ""))
    text = ("ran " + "; ".join(steps)) if steps else "no remediation ran"
    if data.timings.fault_at is None:
        return text
    if data.recovery_s is not None:
        rto = f" (RTO {j.rto_s:,.0f} s)" if j.rto_s is not None else ""
        text += f". Detected after {_or(data.detection_s)}; SLO held again {data.recovery_s:,.1f} s after the fault{rto}"
    else:
        text += f". Not recovered: {data.timings.not_recovered}"
    reverted = [f for f in j.faults if f.injected_at is not None]
    if reverted and all(f.reverted_at is not None and not f.revert_error for f in reverted):
        text += ". Every injected fault was reverted"
    elif reverted:
        text += ". Some injected faults were NOT reverted: run `hanbit-drill cleanup`"
    return text


def _or(seconds: float | None) -> str:
    return "never (the alarm did not fire)" if seconds is None else f"{seconds:,.1f} s"


_ADVICE = {
    "slo-baseline": "the SLO did not hold before the fault: fix steady-state latency/errors before trusting drill timings",
    "availability": "too many seconds broke the SLO over the drill: shorten the outage (faster detection and remediation)",
    "detection": "the alarm was late or silent: review the CloudWatch alarm thresholds/period for this failure",
    "rto": "recovery missed the RTO: automate the runbook step and rehearse it until it fits",
    "slo-after-recovery": "the SLO broke again after recovery: check capacity and warm-up after remediation",
    "rpo": "acknowledged writes older than the RPO were lost: take backups more often or enable PITR/replication",
    "integrity": "items read back corrupted or unexpected: validate restored data before repointing traffic",
}


def _prevention(data: ReportData) -> str:
    failed = [c for c in data.journal.checks if not c.passed]
    if not failed:
        return "no action needed: every check passed; keep the drill in the monthly disaster-recovery test"
    items = [
        f"{c.name}: not judged: give the load generator more CPU (load.workers, more machines) and run it again "
        f"({c.detail})" if c.inconclusive else f"{c.name}: {_ADVICE.get(c.name, 'investigate')} ({c.detail})"
        for c in failed
    ]
    return "; ".join(items)


def incident_entry(journal: Journal, data: ReportData | None = None) -> IncidentEntry:
    data = data or report_data(journal)
    return IncidentEntry(
        date=datetime.fromtimestamp(journal.started_at, tz=timezone.utc).strftime("%Y-%m-%d"),
        run_id=journal.run_id,
        scenario=journal.scenario,
        target=journal.target,
        verdict=data.verdict,
        what_failed=_what_failed(data),
        cause=_cause(data),
        resolution=_resolution(data),
        prevention=_prevention(data),
    )
