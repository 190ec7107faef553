"""Dates as team members type them: ``2026-12-01``, ``1.12.2026``, ``1/12-2026``, ``1.12`` (the
next such day), ``i morgen``/``tomorrow``, ``+3`` (days from today)."""

from __future__ import annotations

import datetime as dt
import re

_DAY_MONTH = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$")
TOMORROW = ("i morgen", "imorgen", "i morgon", "tomorrow")


class DateError(ValueError):
    pass


def parse_date(text: str, today: dt.date) -> dt.date:
    word = text.strip().casefold()
    if word in TOMORROW:
        return today + dt.timedelta(days=1)
    if word in ("i dag", "idag", "today"):
        return today
    if re.fullmatch(r"\+\d{1,3}", word):
        return today + dt.timedelta(days=int(word[1:]))
    try:
        return dt.date.fromisoformat(word)
    except ValueError:
        pass
    match = _DAY_MONTH.match(word)
    if match:
        day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
        try:
            if year is not None:
                return dt.date(int(year) + (2000 if len(year) == 2 else 0), month, day)
            date = dt.date(today.year, month, day)
            return date if date >= today else dt.date(today.year + 1, month, day)
        except ValueError:
            pass
    raise DateError(text)


def looks_like_date(text: str) -> bool:
    try:
        parse_date(text, dt.date(2000, 1, 1))
        return True
    except DateError:
        return False
