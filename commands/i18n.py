"""Translations (gettext catalogs in ``locales/``, read with Babel) and localized numbers.

English is the source language; Danish (da) and Norwegian Bokmål (nb) have catalogs. Mark texts
with ``_`` (translated now) or ``N_`` (translated where shown) so extraction finds them.
"""

from __future__ import annotations

import functools
import pathlib

LANGUAGES = ("da", "nb", "en")
BABEL_LOCALES = {"da": "da_DK", "nb": "nb_NO", "en": "en_GB"}
LOCALE_DIR = pathlib.Path(__file__).with_name("locales")
DOMAIN = "teampuls"


def N_(message: str) -> str:
    """Mark a text for translation where it is shown, not where it is defined."""
    return message


@functools.lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, str]:
    """msgid -> msgstr of a language's catalog (empty for English, the source language)."""
    if language == "en":
        return {}
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        po = read_po(file, locale=BABEL_LOCALES[language])
    return {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}


class Translator:
    """Texts and numbers for one language."""

    def __init__(self, language: str):
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        self.language = language
        self.locale = BABEL_LOCALES[language]
        self._catalog = catalog(language)

    def gettext(self, message: str) -> str:
        return self._catalog.get(message, message)

    __call__ = gettext

    def percent(self, value: float, digits: int = 1) -> str:
        from babel.numbers import format_percent

        return format_percent(value, f"#,##0.{'0' * digits} %", locale=self.locale)

    def decimal(self, value: float, digits: int = 1) -> str:
        from babel.numbers import format_decimal

        pattern = f"#,##0.{'0' * digits}" if digits else "#,##0"
        return format_decimal(value, pattern, locale=self.locale)

    def weekday(self, number: int) -> str:
        """The name of a weekday, 0 Monday ... 6 Sunday: "mandag", "Monday"."""
        from babel.dates import get_day_names

        return get_day_names("wide", locale=self.locale)[number]

    def date(self, day) -> str:
        """A date in full, with its year: "30. november 2027", "30 November 2027"."""
        from babel.dates import format_date

        return format_date(day, "long", locale=self.locale)

    def week(self, label: str) -> str:
        """``2026-W47`` as people say it: "uge 47 2026", "uke 47 2026", "week 47 2026"."""
        year, week = label.split("-W")
        return self.gettext("week {week} {year}").format(week=int(week), year=year)
