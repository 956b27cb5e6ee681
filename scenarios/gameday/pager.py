"""Paging the on-call: the live console, and a JSON POST when `HANBIT_DRILL_PAGE_URL` is set.

The POST body has a Slack-compatible `text` and the structured fields a pager integration routes on
(run id and directory, scenario, step, the RTO deadline). A page that cannot be delivered is recorded
with the reason; it never stops the drill (the console page still shows it, and the operator
deadline still applies).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.panel import Panel

from common.messages import Messages

PAGE_URL_ENV = "HANBIT_DRILL_PAGE_URL"
POST_TIMEOUT_S = 5.0


class Page(BaseModel):
    run_id: str
    run_dir: str
    scenario: str
    step: int  # index of the remediation step in the scenario
    action: str
    fault: str  # the fault(s) in effect
    paged_at: float
    fault_at: float | None
    rto_deadline: float | None  # epoch s: fault + RTO
    runbook: str  # the command(s) to run, the target's values filled in
    ack_command: str

    @property
    def since_fault_s(self) -> float | None:
        return None if self.fault_at is None else self.paged_at - self.fault_at

    def text(self, messages: Messages) -> str:
        _ = messages.gettext
        lines = [_("DRILL {scenario}: {fault} - on-call action needed").format(scenario=self.scenario, fault=self.fault)]
        if self.since_fault_s is not None:
            lines.append(_("{seconds:.0f} s since the fault").format(seconds=self.since_fault_s)
                         + ("" if self.rto_deadline is None else
                            "; " + _("RTO deadline {deadline}").format(deadline=_clock(self.rto_deadline))))
        lines.append(_("Runbook: {runbook}").format(runbook=self.runbook))
        lines.append(_("Acknowledge: {command}").format(command=self.ack_command))
        lines.append(_("Run directory: {run_dir}").format(run_dir=self.run_dir))
        return "\n".join(lines)

    def payload(self, messages: Messages) -> dict[str, object]:
        return {
            "text": self.text(messages),
            "run_id": self.run_id, "run_dir": self.run_dir, "scenario": self.scenario, "step": self.step,
            "action": self.action, "fault": self.fault, "runbook": self.runbook,
            "paged_at": _clock(self.paged_at),
            "rto_deadline": None if self.rto_deadline is None else _clock(self.rto_deadline),
        }


def _clock(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Pager:
    def __init__(self, console: Console, messages: Messages, url: str | None = None) -> None:
        self.console = console
        self.messages = messages
        self.url = url if url is not None else os.environ.get(PAGE_URL_ENV) or None

    def send(self, page: Page) -> str | None:
        """Show and deliver the page. Returns why the POST failed, or None."""
        _ = self.messages.gettext
        self.console.print(Panel(page.text(self.messages), title=_("PAGE"), border_style="bold red"), soft_wrap=True)
        if not self.url:
            return None
        try:
            response = httpx.post(self.url, json=page.payload(self.messages), timeout=POST_TIMEOUT_S)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            self.console.print(_("the page could not be posted to {url}: {problem}").format(url=self.url, problem=problem))
            return problem
        return None
