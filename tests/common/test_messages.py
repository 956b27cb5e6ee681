"""The message catalogs (`--lang ko`): every message people read is in the Korean catalog, translated (no
English left) with the msgid's placeholders; every message of both catalogs renders; a whole drill report
rendered in Korean shows no English word of the messages, and rendered in English reads as it always has.

The messages are what Babel's extractor finds in the source (keywords `_` and `gettext`), as a maintainer
updating the catalog with `pybabel extract` would find them.
"""

from __future__ import annotations

import ast
import html
import re
import string
from collections.abc import Iterator
from functools import cache
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from rich.console import Console

from common import messages
from common.messages import catalog_path, messages_for, use

ROOT = Path(__file__).parents[2]
PACKAGES = ("common", "scenarios", "verify", "loadtests", "chaos", "service")
KEYWORDS = {"_": None, "gettext": None}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
T0 = 1_700_000_000  # the demo journal's first second: a fixed report, the same on every run


@cache
def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used (path:line), as Babel's extractor reads the packages."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / package), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.setdefault(message, []).append(f"{package}/{filename}:{lineno}")
    return found


@cache
def korean() -> Catalog:
    with catalog_path("ko").open("rb") as handle:
        return read_po(handle, locale="ko")


def entries() -> list:  # noqa: ANN201 - babel's Message
    return [m for m in korean() if m.id]  # without the header


def fields(text: str) -> list[tuple[str, str, str | None]]:
    """The `{name:spec!conversion}` placeholders of a format string, in order."""
    return [(name, spec or "", conversion) for _literal, name, spec, conversion in string.Formatter().parse(text)
            if name is not None]


def dummy(spec: str) -> object:
    """A value a placeholder with this format spec accepts: a number for `,.1f`, `.0%`, `5d`, else text."""
    kind = spec[-1:] if spec else ""
    if kind in ("d", "n", "x", "o", "b", "c"):
        return 7
    if kind in ("e", "E", "f", "F", "g", "G", "%") or "," in spec or "." in spec:
        return 1234.5
    return "x"


def render(text: str, msgid: str) -> str:
    return text.format(**{name: dummy(spec) for name, spec, _conversion in fields(msgid)})


# (a) the Korean catalog has every message, translated, with the same placeholders


def test_babel_finds_the_messages() -> None:
    # The extractor is only worth something if it sees the marked modules.
    found = extracted()
    assert len(found) > 150
    for where in ("verify/report_console.py", "verify/report_html.py", "scenarios/progress.py",
                  "scenarios/gameday/pager.py", "scenarios/gameday_commands.py", "verify/checks/rto.py"):
        assert any(w.startswith(where) for ws in found.values() for w in ws), where


def _marker_calls(path: Path) -> Iterator[tuple[int, ast.expr | None]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
            yield node.lineno, node.args[0] if node.args else None


def test_every_marked_message_is_a_literal_babel_can_see() -> None:
    # `_(f"...")` or `_(name)` cannot be extracted, and neither can `_("...")` inside an f-string on Python
    # 3.11: such a message would never reach the catalog, and show in English.
    seen = {(where.split(":")[0], msgid) for msgid, wheres in extracted().items() for where in wheres}
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for line, arg in _marker_calls(path):
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    problems.append(f"{relative}:{line}: not a literal string")
                elif (relative, arg.value) not in seen:
                    problems.append(f"{relative}:{line}: {arg.value!r} not seen by Babel (inside an f-string?)")
    assert not problems, "\n".join(problems)


def test_every_message_is_in_the_korean_catalog() -> None:
    catalog = korean()
    missing = [f"{msgid!r} ({', '.join(where)})" for msgid, where in extracted().items()
               if msgid not in catalog]
    assert not missing, "missing from the ko catalog:\n" + "\n".join(missing)


def test_every_korean_entry_is_translated_with_the_same_placeholders() -> None:
    problems = []
    for entry in entries():
        msgid, msgstr = entry.id, entry.string
        if not msgstr:
            problems.append(f"{msgid!r}: empty msgstr")
        elif entry.fuzzy:
            problems.append(f"{msgid!r}: fuzzy (not used until reviewed)")
        elif msgstr == msgid:
            problems.append(f"{msgid!r}: msgstr equal to msgid")
        elif not HANGUL.search(msgstr):
            problems.append(f"{msgid!r}: no Hangul in {msgstr!r} (English left?)")
        elif sorted(fields(msgstr)) != sorted(fields(msgid)):
            problems.append(f"{msgid!r}: placeholders {sorted(fields(msgstr))} != {sorted(fields(msgid))}")
    assert not problems, "\n".join(problems)


# (b) every message of both catalogs renders


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_message_renders(lang: str) -> None:
    translations = messages_for(lang)
    failures = []
    for entry in entries():
        expected = entry.id if lang == "en" else entry.string
        text = translations.gettext(entry.id)
        if text != expected:
            failures.append(f"{entry.id!r}: gettext gave {text!r}")
            continue
        try:
            render(text, entry.id)
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            failures.append(f"{entry.id!r} -> {text!r}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


# (c) a whole drill report, in Korean and in English


@pytest.fixture
def language() -> Iterator[object]:
    """Choose a language for the test (as `--lang` does), and give the process its language back after."""
    before = list(messages._active)
    yield use
    messages._active[:] = before


def _demo():  # noqa: ANN202 - verify's imports stay inside the tests that need them
    from verify.demo import demo_journal

    return demo_journal(T0)  # its checks' details are written in the language active now, as in a drill


RUNBOOKS = ("aws dynamodb create-backup", "aws dynamodb restore-table-from-backup --target-table-name todos-restored")


def _game_day_demo():  # noqa: ANN202
    """The demo as a game day: one step taken over, one done by the on-call (leaving something undone), the
    region serving each second, a negative control. Its checks judged again, in the language active now."""
    from verify.checks import evaluate

    journal = _demo()
    backup, restore = journal.remediations
    fault = journal.fault_at
    backup.by, backup.runbook, backup.paged_at, backup.taken_over_at = "operator", RUNBOOKS[0], fault, fault
    restore.by, restore.runbook = "operator", RUNBOOKS[1]
    restore.paged_at, restore.acknowledged_at, restore.acknowledged_by = fault + 2, fault + 4, "kim"
    restore.action_observed_at, restore.action_matches_runbook = restore.started_at, True
    restore.detail = {"not_repointed": ["todo-api"]}
    journal.served_by = {s.t: "ap-northeast-2" if s.t < fault + 5 else "ap-northeast-1" for s in journal.series}
    journal.expected_to_fail = True
    journal.checks = evaluate(journal)
    return journal


def _console_text(journal) -> str:  # noqa: ANN001
    from verify.report_console import render_console

    out = StringIO()
    render_console(journal, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def _visible_html(page: str) -> str:
    """What a reader sees of report.html: text between tags and the charts' titles, no CSS, no attributes
    but the accessible labels."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    labels = re.findall(r'aria-label="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", "\n", page)
    return html.unescape(text + "\n" + "\n".join(labels))


def _people_text() -> str:
    """The live progress, the page and the run's outcome lines, as the current language writes them."""
    from loadtests.records import SecondSample
    from scenarios.drill_commands import Outcome
    from scenarios.gameday.pager import Page
    from scenarios.progress import DrillProgress

    plan = SimpleNamespace(scenario="lambda-failure", profile="smoke", target_name="local", rto_s=15.0)
    progress = DrillProgress(plan, Console(file=StringIO(), width=200), enabled=False)  # type: ignore[arg-type]
    progress._last = SecondSample(t=T0, requests=100, failures={"http_503": 3}, p90_ms=12.0)
    out = StringIO()
    console = Console(file=out, width=200, color_system=None)
    console.print(progress._line())
    console.print(progress._table())
    page = Page(run_id="r1", run_dir="runs/r1/lambda-failure", scenario="lambda-failure", step=0,
                action="lambda.rollback", fault="lambda.deploy-bad-version", paged_at=T0 + 60.0, fault_at=T0,
                rto_deadline=T0 + 300.0, runbook="aws lambda update-alias --name LIVE --function-version 3",
                ack_command="hanbit-drill ack")
    console.print(page.text(messages.current()))
    for outcome in Outcome:
        console.print(outcome.text)
    return out.getvalue()


# Words of the messages that a Korean report keeps: acronyms and names the operators use as they are.
KEPT = {"SLO", "SLA", "RTO", "RPO", "RPS", "rps", "ms", "ALARM", "UTC", "CloudWatch", "LIVE"}


def _data_strings(journal) -> list[str]:  # noqa: ANN001
    """What the report shows from the journal and the scenario file as written: names, not messages."""
    from verify.alarm_eval import AlarmState
    from verify.journal import PhaseName
    from verify.slo import TreatMissingData

    strings = ["hanbit-drill ack", "hanbit-drill", "journal.json", "aws lambda update-alias", "--function-version",
               "--name", "runs/r1/lambda-failure", "lambda-failure", "lambda.rollback", "lambda.deploy-bad-version",
               journal.scenario, journal.description, journal.run_id, journal.profile, journal.target,
               journal.target_kind]
    strings += [c.name for c in journal.checks]
    strings += [*journal.served_by.values(), "kim", "todo-api", *RUNBOOKS]
    for record in [*journal.faults, *journal.remediations]:
        strings.append(record.action)
        strings += [f"{k}={v}" for k, v in record.parameters.items()]
    if journal.ledger is not None:
        strings += [*journal.ledger.lost_ids, *journal.ledger.corrupted_ids]
    strings += [v.value for v in (*TreatMissingData, *AlarmState, *PhaseName)]
    return sorted(set(strings), key=len, reverse=True)  # the longest first: a name inside another goes with it


def _english_left(text: str, journal) -> list[str]:  # noqa: ANN001
    """Every Latin word left once the journal's names are taken out, but the acronyms kept (stricter than
    the words of the msgids: an English string nobody marked is caught too)."""
    for name in _data_strings(journal):
        # Whole names only (ASCII boundaries: a Korean particle may follow, as in "journal.json에서").
        text = re.sub(rf"(?<![A-Za-z0-9_.-]){re.escape(name)}(?![A-Za-z0-9_-])", " ", text)
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in KEPT})


@pytest.mark.parametrize("game_day", [False, True], ids=["demo", "game-day"])
def test_a_korean_drill_report_has_no_english_message_left(language, game_day: bool) -> None:  # noqa: ANN001
    from verify.report_html import render_html

    language("ko")
    journal = _game_day_demo() if game_day else _demo()
    console, page, people = _console_text(journal), render_html(journal), _people_text()
    assert '<html lang="ko">' in page
    for name, text in (("console", console), ("report.html", _visible_html(page)), ("progress/page", people)):
        assert HANGUL.search(text), name
        left = _english_left(text, journal)
        assert not left, f"{name} still shows English words {left}:\n{text}"
    assert "최초 이상 시점" in console and "복구 시간" in console and "쓰기 원장" in console
    assert "장애 주입" in page and "주요" not in page  # the page's own wording, not the console's
    if game_day:
        assert "운영자 대응" in console and "운영자 대응" in page and "클라이언트 경로를 처리한 리전" in page
        assert "하네스가 런북 단계를 직접 수행했습니다" in console and "정상, 단: todo-api" in console
    assert "온콜 조치 필요" in people and "런북" in people


def test_an_english_drill_report_reads_as_before(language) -> None:  # noqa: ANN001
    from verify.report_html import render_html

    language("en")
    journal = _demo()
    console, page = _console_text(journal), render_html(journal)
    assert not HANGUL.search(console + page)
    for line in (
        r"table-corruption PASSED   run demo-1700000000 · profile smoke · target local",
        r"│ first bad second │ \+[\d.]+ s  \(error rate [\d.]+% > 5\.0%\) +│",
        r"│ alarm \(paged\)    │ \+[\d.]+ s  \(cloudwatch model\) +│",
        r"│ recovery time    │ [\d.]+ s  \(RTO 90 s\) +│",
        r"│ data loss \(RPO\)  │ [\d.]+ s  \(limit 180 s\) +│",
        r"│ rto +│ PASS +│ +[\d.]+ s │ +90 s │ recovered [\d.]+ s after the fault \(RTO 90 s\) +│",
        r"│ integrity +│ PASS +│ 0 items │ 0 items │ 0 corrupted, 0 unexpected "
        r"\(lost writes are judged by the RPO: \d+\)",
        r"│ during fault   │",
        r"│ fault       │ table\.corrupt │ percentage=30 +│ \+0\.0 s │ \+[\d.]+ s │ reverted │",
        r"Ledger: \d+ writes, \d+ acknowledged, \d+ unknown outcome, \d+ lost, 0 corrupted, 0 unexpected",
    ):
        assert re.search(line, console), line
    for part in (
        '<html lang="en">', "<title>table-corruption drill: PASSED</title>", "<h2>Checks</h2>",
        "Time 0 is the fault injection. Red shading: from the fault until the SLO held again for the sustained "
        "window; blue shading: a remediation running. Times in UTC.",
        'aria-label="SLO per second: green held, red broken, grey no traffic"', "<title>fault until recovery</title>",
        ">seconds since the fault</text>", "<h2>Write ledger (read back after recovery)</h2>",
        "<th>window</th><th>seconds</th><th>requests</th><th>RPS</th>",
        "<footer>hanbit-drill report · rendered from journal.json · SLO p90 &lt; 200 ms, p95 &lt; 500 ms, "
        "errors &lt; 1.0%, availability ≥ 99.9%</footer>",
    ):
        assert part in page, part


def test_hanbit_drill_lang_ko_report_demo_renders_korean(language, capsys) -> None:  # noqa: ANN001
    from scenarios.cli import main

    assert main(["--lang", "ko", "report", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "주요 시각" in out and "점검 결과" in out and "Key timings" not in out
