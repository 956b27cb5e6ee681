"""The team's language: message catalogs for what people read (console, pages, HTML report).

English is the source language and the default. `--lang ko` (or `HANBIT_DRILL_LANG=ko`) reads the
Korean catalog, `common/locale/ko/LC_MESSAGES/hanbit_drill.po`, which Babel compiles in memory when
first asked for (no build step, no `.mo` file to forget). A message missing from a catalog falls back
to English; tests/common/test_messages.py fails when any is missing.

What is translated: the words people read (console, live progress, pages, `ack`, report.html). What is
not: the machine formats (journal.json's fields and values, series.jsonl, junit.xml's structure,
history.jsonl), CLI option names, check names, action names and enum values, numbers and dates.

Most text is translated when it is shown, so a run's reports re-rendered with another `--lang` follow it.
Check details are the exception: a check's `detail` is written into the journal when the drill ends,
in the language active during the run, and every later report shows it as written (junit.xml carries it
too). That is accepted: the team that ran the drill reads its report; re-judging a journal
(`verify.checks.evaluate`) writes them anew in the current language.

Messages are marked `_("... {name} ...").format(name=...)` on literal strings, never f-strings inside
`_()` and never `_()` inside an f-string: Babel's extractor (Python 3.11) reads only literal arguments.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import os
from functools import cache
from pathlib import Path

from common.errors import InvalidInputError

DOMAIN = "hanbit_drill"
LOCALE_DIR = Path(__file__).with_name("locale")
LANG_ENV = "HANBIT_DRILL_LANG"
SOURCE_LANGUAGE = "en"


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    """The source language and every language with a catalog."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [SOURCE_LANGUAGE, *found]


class Messages:
    """`gettext` for one language (use as `_ = messages.gettext`)."""

    def __init__(self, lang: str, translations: stdlib_gettext.NullTranslations) -> None:
        self.lang = lang
        self._translations = translations

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)


class UnknownLanguage(InvalidInputError):
    """`--lang` names a language without a catalog."""


@cache
def messages_for(lang: str | None = None) -> Messages:
    """The messages of `lang`, else of $HANBIT_DRILL_LANG, else English."""
    lang = (lang or os.environ.get(LANG_ENV) or SOURCE_LANGUAGE).split(".")[0].split("_")[0].lower()
    if lang == SOURCE_LANGUAGE:
        return Messages(lang, stdlib_gettext.NullTranslations())
    # Babel only when a catalog is read: English, the default, costs no import at every command's start.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = catalog_path(lang)
    if not path.exists():
        raise UnknownLanguage(f"no messages in language {lang!r}; available: {', '.join(languages())}")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Messages(lang, stdlib_gettext.GNUTranslations(compiled))


_active: list[Messages] = []  # the language chosen at the command boundary (`--lang`), for this process


def use(lang: str | None) -> Messages:
    """Choose the language of what this process shows people (called once, by the CLI)."""
    _active[:] = [messages_for(lang)]
    return _active[0]


def current() -> Messages:
    return _active[0] if _active else messages_for()


def gettext(message: str) -> str:
    """The message in the chosen language (import as `_`; Babel's extractor finds `_("...")` calls)."""
    return current().gettext(message)
