"""`hanbit-drill cleanup --target T`: what drills left on the target itself, found without any journal.

A run's journal may be out of reach (a cancelled CI job's runner is gone, a laptop is closed); the target
still says what is in effect. The target's provider lists it (`Provider.leftovers`: on AWS the fault
markers under the drill's SSM path and the drill's FIS templates; on a running bundled service the
faults its control plane still applies) and clears each, printing each; the load's accounts in the
target's Cognito pool are removed too, unless `--keep-accounts` (every run reuses them: a pool whose
accounts are removed after each CI run pays Cognito's monthly-active-user price for new ones every time).
`--dry-run` lists only.

Cleanup holds the target's lease while it works, as a drill does: it refuses while a live drill holds the
target (reverting that drill's faults would end its experiment, removing its accounts would break its
load), takes over a lapsed one, and no drill starts while it sweeps. It is idempotent: a second run finds
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from chaos.lease import TargetLease
from chaos.provider import Leftover, Provider
from chaos.targets import Target
from common.errors import HarnessError
from scenarios.lease_keeper import LeaseKeeper
from scenarios.target_kinds import provider_for, session_for
from scenarios.target_session import TargetSession, load_auth

PASSES = 3  # clearing one thing can bring another to light (a template whose marker did not name it)


@dataclass
class SweepReport:
    found: int = 0
    cleared: int = 0
    kept: int = 0  # a runbook step's lasting state, reported and left alone
    accounts: int = 0  # the load's Cognito accounts removed (or, dry run, found)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def _remove_accounts(auth: Any, dry_run: bool) -> list[str]:
    from loadtests.cognito import drill_accounts, remove_drill_accounts  # boto3 only when a pool is named

    return drill_accounts(auth) if dry_run else remove_drill_accounts(auth)


class TargetCleanup:
    def __init__(self, name: str, target: Target, console: Console, *, dry_run: bool = False,
                 keep_accounts: bool = False, session_factory: Callable[[Target], TargetSession] = session_for,
                 provider_factory: Callable[..., Provider] = provider_for,
                 accounts: Callable[[Any, bool], list[str]] = _remove_accounts) -> None:
        self.name = name
        self.target = target
        self.console = console
        self.dry_run = dry_run
        self.keep_accounts = keep_accounts  # the next run reuses them (Cognito bills each new user a month)
        self.session_factory = session_factory
        self.provider_factory = provider_factory
        self.accounts = accounts

    def run(self) -> SweepReport:
        report = SweepReport()
        session = self.session_factory(self.target)
        lease = TargetLease(session.lease_store(), self.name, "cleanup")
        keeper = None if self.dry_run else LeaseKeeper(lease)
        if keeper is None:
            holder = lease.holder()
            if holder is not None:
                self._say(escape(f"target {self.name!r} is held by {holder.describe()}: what follows is that "
                                 f"drill's, in use"))
        else:
            taken_over = keeper.take()  # LeaseHeldError (exit 3) while a live drill holds the target
            if taken_over is not None:
                self._say(escape(f"took over the lapsed lease of {taken_over.describe()}"))
        provider: Provider | None = None
        try:
            provider = self.provider_factory(self.target, **session.provider_runtime())
            self._leftovers(provider, report)
            self._accounts(report)
        finally:
            if provider is not None:
                provider.close()
            if keeper is not None:
                keeper.release()  # whatever happened: a held lease would refuse the next drill for minutes
        self._summary(report)
        return report

    def _leftovers(self, provider: Provider, report: SweepReport) -> None:
        seen: set[tuple[str, str]] = set()
        for _ in range(PASSES):
            new = [left for left in provider.leftovers() if (left.kind, left.name) not in seen]
            if not new:
                break
            for left in new:
                seen.add((left.kind, left.name))
                report.found += 1
                self._say(escape(f"{left.kind} {left.name}: {left.detail}"))
                if not left.clearable:
                    report.kept += 1
                    self._say("  left as it is")
                elif not self.dry_run:
                    self._clear(provider, left, report)
            if self.dry_run:
                return
        still = [f"{left.kind} {left.name}: still there after cleanup" for left in provider.leftovers()
                 if left.clearable and not any(left.name in p for p in report.problems)]
        report.problems += still

    def _clear(self, provider: Provider, left: Leftover, report: SweepReport) -> None:
        try:
            self._say("  " + escape(provider.clear(left)))
            report.cleared += 1
        except HarnessError as exc:
            report.problems.append(f"{left.kind} {left.name}: {exc}")
            self._say(f"  [red]could not clear it: {escape(str(exc))}[/]")

    def _accounts(self, report: SweepReport) -> None:
        auth = load_auth(self.target)
        if auth is None or self.keep_accounts:
            return  # the API's own /auth: its accounts are the service's, nothing the harness made elsewhere
        where = f"user pool {auth.user_pool_id}"
        try:
            names = self.accounts(auth, self.dry_run)
        except HarnessError as exc:
            report.problems.append(f"the load's accounts in {where}: {exc}")
            self._say(f"[red]the load's accounts in {where}: {escape(str(exc))}[/]")
            return
        report.accounts = len(names)
        for name in names:
            self._say(f"Cognito account {name} ({where}): " + ("found" if self.dry_run else "removed"))

    def _summary(self, report: SweepReport) -> None:
        kept = f", {report.kept} left as they are" if report.kept else ""
        pool = load_auth(self.target) is not None and not self.keep_accounts  # accounts were looked for
        if self.dry_run:
            accounts = f", {report.accounts} drill account(s)" if pool else ""
            self._say(f"dry run, target {self.name!r}: {report.found} leftover(s){kept}{accounts}; nothing changed")
        elif report.clean:
            accounts = f", {report.accounts} drill account(s) removed" if pool else ""
            self._say(f"clean: target {self.name!r}: {report.cleared} leftover(s) cleared{kept}{accounts}")
        else:
            for problem in report.problems:
                self._say(f"[red]{escape(problem)}[/]")

    def _say(self, text: str) -> None:
        self.console.print(text, soft_wrap=True, highlight=False)
