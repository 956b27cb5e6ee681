"""The report draws which region served the clients' path each second (a region drill's failover)."""

from __future__ import annotations

from verify.journal import Journal
from verify.report_html import render_html


def test_a_region_drill_report_shows_the_region_serving_each_second(journal_factory) -> None:
    journal = journal_factory()
    start = journal.series[0].t
    served = {start + i: "ap-northeast-2" for i in range(20)}
    served |= {start + i: "no answer (HTTP 429)" for i in range(20, 30)}
    served |= {start + i: "ap-northeast-1" for i in range(30, 70)}
    journal.served_by = served
    html = render_html(Journal.model_validate_json(journal.model_dump_json()))  # survives journal.json
    assert "chart-served" in html
    assert "Region serving the clients' path (ap-northeast-2 blue, ap-northeast-1 orange; red: no answer)" in html
    assert html.count('class="chart chart-served"') == 1
    assert ": no answer (HTTP 429)</title>" in html and ": ap-northeast-1</title>" in html


def test_other_drills_have_no_region_strip(journal_factory) -> None:
    assert "chart-served" not in render_html(journal_factory())


def test_what_a_restore_left_undone_is_in_the_report_not_hidden_behind_ok(journal_factory) -> None:
    from rich.console import Console

    from verify.report_console import render_console

    journal = journal_factory()
    journal.remediations[0].action = "table.restore"
    journal.remediations[0].detail = {
        "restored_table": "todos-restored",
        "not_restored": ["todos-restored lacks alarm todos-throttled (it watches todos)"],
        "not_repointed": ["todo-api:LIVE in ap-northeast-1 still serves TABLE_NAME=todos"],
    }
    html = render_html(journal)
    assert (
        "ok, but: todos-restored lacks alarm todos-throttled (it watches todos); todo-api:LIVE in ap-northeast-1 "
        "still serves TABLE_NAME=todos"
    ) in html
    console = Console(record=True, width=400)
    render_console(journal, console)
    assert "ok, but: todos-restored lacks alarm todos-throttled" in console.export_text()
