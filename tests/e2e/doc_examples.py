"""The commands the README and docs/*.md show, read out of the Markdown as a user would copy them.

- `Example`: one command line from a fenced block (bash, console, yaml `- run:` steps), comments and
  line continuations resolved, with where it was found;
- `Synopsis`: a command's option summary (`hanbit-drill capacity [--hold 60s] ...`, or a row of the
  README's command table), whose options must exist;
- `Transcript`: a ```console block of `$ command` lines and the output shown under each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
COMMANDS = ("hanbit-drill ", "pip install", "python ")


@dataclass(frozen=True)
class Example:
    command: str
    where: str  # file:line

    @property
    def background(self) -> bool:
        return self.command.endswith("&")


@dataclass(frozen=True)
class Synopsis:
    command: str  # the subcommand, e.g. "capacity"
    options: tuple[str, ...]
    where: str


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)  # the output lines the transcript shows


@dataclass(frozen=True)
class Block:
    lang: str
    lines: tuple[str, ...]
    file: Path
    first_line: int  # 1-based line of the block's first content line


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lang, start, body = None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if fence and lang is None:
            lang, start, body = fence.group(1), number + 1, []
        elif line.strip() == "```" and lang is not None:
            found.append(Block(lang, tuple(body), path, start))
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def _logical_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, text) with `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    pending, at = "", 0
    for offset, raw in enumerate(block.lines):
        text = raw.rstrip()
        if not pending:
            at = block.first_line + offset
        if text.endswith("\\"):
            pending += text[:-1].strip() + " "
            continue
        out.append((at, (pending + text.strip()).strip()))
        pending = ""
    return out


def _strip_comment(line: str) -> str:
    """`cmd --x 1   # why` -> `cmd --x 1` (a `#` inside quotes, or inside a word, is kept)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def is_synopsis(text: str) -> bool:
    """`hanbit-drill capacity [--target local] ...`: options in brackets, a summary to read, not to run."""
    return text.startswith("hanbit-drill ") and re.search(r"\s\[", text) is not None


def _rel(block: Block, line: int) -> str:
    return f"{block.file.relative_to(ROOT)}:{line}"


def examples() -> list[Example]:
    """Runnable command lines (not synopses, not transcripts) of every document."""
    found: list[Example] = []
    for path in DOCS:
        for block in blocks(path):
            if block.lang == "console":
                continue  # a transcript: see `transcripts`
            for line, text in _logical_lines(block):
                if block.lang == "yaml":
                    match = re.match(r"-\s*run:\s*(.+)", text)
                    if not match:
                        continue
                    text = match.group(1)
                if text.startswith(COMMANDS) and not is_synopsis(text):
                    found.append(Example(_strip_comment(text), _rel(block, line)))
    return found


def synopses() -> list[Synopsis]:
    """Option summaries: `hanbit-drill X [--opt ...]` in blocks, and the README's command table."""
    found: list[Synopsis] = []
    for path in DOCS:
        for block in blocks(path):
            for line, text in _logical_lines(block):
                if is_synopsis(text):
                    found.append(Synopsis(text.split()[1], tuple(OPTION.findall(text)), _rel(block, line)))
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(readme, 1):
        if line.startswith("| `"):  # the command table: `run [SCENARIO ...] [--profile P] ...` | what it does
            for span in re.findall(r"`([^`]+)`", line[2:].split(" | ")[0]):
                found.append(Synopsis(span.split()[0], tuple(OPTION.findall(span)), f"README.md:{number}"))
    return found


def transcripts(path: Path = ROOT / "README.md") -> list[list[Step]]:
    """Every ```console block as steps: `$ command` then the lines shown for it."""
    result: list[list[Step]] = []
    for block in blocks(path):
        if block.lang != "console":
            continue
        steps: list[Step] = []
        for line in block.lines:
            if line.startswith("$ "):
                steps.append(Step(line[2:].strip()))
            elif steps:
                steps[-1].shown.append(line)
        result.append(steps)
    return result


def shows(output: str, shown: list[str]) -> str | None:
    """None when `output` shows the transcript's lines, else what is missing.

    Lines match with whitespace runs made equal; `...` on its own line skips any number of lines, and a
    line ending in `...` matches any line it begins. Without `...` between them, lines must follow
    each other, from the first line of the output."""
    actual = [" ".join(line.split()) for line in output.splitlines()]
    position, gap = 0, False
    for expected_raw in shown:
        expected = " ".join(expected_raw.split())
        if expected == "...":
            gap = True
            continue
        prefix = expected.endswith("...")
        want = expected[:-3].rstrip() if prefix else expected

        def matches(line: str) -> bool:
            return line.startswith(want) if prefix else line == want

        if gap:
            while position < len(actual) and not matches(actual[position]):
                position += 1
        if position >= len(actual) or not matches(actual[position]):
            return f"expected {expected_raw!r} after line {position} of the output"
        position += 1
        gap = False
    return None
