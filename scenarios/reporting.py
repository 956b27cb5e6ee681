"""Where a finished drill's reports go: console summary, report.html, junit.xml, the drill history."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console

from common.messages import gettext as _
from scenarios.cli_options import shown
from verify.journal import Journal

log = logging.getLogger(__name__)


def write_reports(journal: Journal, run_dir: Path, history_dir: Path, console: Console) -> None:
    """Render one drill's reports from its journal. A report that fails to render never hides the verdict."""
    from verify.history import append_history
    from verify.junit import write_junit
    from verify.report_console import render_console
    from verify.report_html import write_html

    render_console(journal, console)
    for what, write in (
        ("report.html", lambda: write_html(journal, run_dir / "report.html")),
        ("junit.xml", lambda: write_junit([journal], run_dir / "junit.xml")),
        ("history", lambda: append_history(history_dir, journal)),
    ):
        try:
            write()
        except OSError as exc:
            console.print("[red]" + _("could not write {what}: {problem}").format(what=what, problem=exc) + "[/]")
    console.print(_("report: {path}").format(path=shown(run_dir / "report.html")), soft_wrap=True)


def write_suite_reports(journals: list[Journal], suite_dir: Path) -> None:
    from verify.junit import write_junit

    if journals:
        write_junit(journals, suite_dir / "junit.xml")
