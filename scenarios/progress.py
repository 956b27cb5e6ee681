"""Live progress of a drill: phase, elapsed vs RTO, RPS, p90 and error rate.

On a terminal it is a rich live panel; elsewhere (CI logs) one line every few seconds.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from common.messages import gettext as _
from loadtests.records import SecondSample
from scenarios.models import DrillPlan
from verify.journal import Journal, PhaseName

PLAIN_EVERY_S = 5


class DrillProgress:
    def __init__(self, plan: DrillPlan, console: Console | None = None, enabled: bool = True) -> None:
        self.plan = plan
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.current = PhaseName.PREFLIGHT
        self.started = time.time()
        self._live: Live | None = None
        self._last_plain = 0
        self._last: SecondSample | None = None
        self._journal: Journal | None = None

    def phase(self, name: PhaseName) -> None:
        self.current = name
        if not self.enabled:
            return
        if self.console.is_terminal:
            self._refresh()
        else:
            # The phase is the journal's name for it (an identifier, as `plan` lists them): not translated.
            self.console.print(f"[{self.plan.scenario}] " + _("phase: {phase}").format(phase=name.value))

    def sample(self, sample: SecondSample, journal: Journal) -> None:
        self._last, self._journal = sample, journal
        if not self.enabled:
            return
        if self.console.is_terminal:
            self._refresh()
        elif sample.t - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = sample.t
            self.console.print(self._line(), highlight=False)

    def _since_fault(self) -> str:
        journal = self._journal
        if journal is None or journal.fault_at is None:
            return "-"
        elapsed = time.time() - journal.fault_at
        rto = f" / RTO {self.plan.rto_s:.0f} s" if self.plan.rto_s else ""
        return f"{elapsed:.0f} s{rto}"

    def _line(self) -> str:
        s = self._last
        if s is None:
            return f"[{self.plan.scenario}] {self.current.value}"
        return f"[{self.plan.scenario}] {self.current.value:<9} t+{time.time() - self.started:5.0f}s " + _(
            "since fault {since:>14}  {rps:5d} rps  p90 {p90:7.1f} ms  errors {errors:6.2%}"
        ).format(since=self._since_fault(), rps=s.requests, p90=s.p90_ms, errors=s.error_rate)

    def _table(self) -> Table:
        table = Table(title=_("drill {scenario} ({profile}, {target})").format(
            scenario=self.plan.scenario, profile=self.plan.profile, target=self.plan.target_name))
        for column in (_("phase"), _("elapsed"), _("since fault"), "RPS", "p90 ms", _("errors")):
            table.add_column(column, justify="right")
        s = self._last
        table.add_row(
            self.current.value,
            f"{time.time() - self.started:.0f} s",
            self._since_fault(),
            str(s.requests) if s else "-",
            f"{s.p90_ms:.1f}" if s else "-",
            f"{s.error_rate:.2%}" if s else "-",
        )
        return table

    def _refresh(self) -> None:
        if self._live is None:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=True)
            self._live.start()
        else:
            self._live.update(self._table())

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

