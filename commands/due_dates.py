"""Dates as team members type them: ``2026-12-01``, ``1.12.2026``, ``1/12-2026``, ``1.12`` (the
next such day), ``i morgen``/``tomorrow``, ``i overmorgen``, a weekday (``mandag``, ``på
fredag``, ``on Monday``: the next such day after today), ``+3`` (days from today).

A date without a year is this year's, or next year's once it has passed; a day that passed less
than ``RECENT_DAYS`` ago is refused rather than moved a year on (``PastDate``), since that is
more often a slip than a plan for next year. Callers say the year when it is not this one.
"""

from __future__ import annotations

import datetime as dt
import re

_DAY_MONTH = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\.?$")
TOMORROW = ("i morgen", "imorgen", "i morgon", "tomorrow")
DAY_AFTER_TOMORROW = ("i overmorgen", "iovermorgen", "overmorgen", "day after tomorrow",
                      "the day after tomorrow")
TODAY = ("i dag", "idag", "today")
# da and nb share the names of the weekdays ("lørdag"/"søndag" also without ø); no short forms,
# since "man" and "tor" are ordinary words at the start of a follow-up's text
WEEKDAYS = {name: number for number, names in enumerate((
    ("mandag", "monday"),
    ("tirsdag", "tuesday"),
    ("onsdag", "wednesday"),
    ("torsdag", "thursday"),
    ("fredag", "friday"),
    ("lørdag", "lordag", "loerdag", "saturday"),
    ("søndag", "sondag", "soendag", "sunday"),
)) for name in names}
_WEEKDAY_LEAD = ("på ", "paa ", "pa ", "on ", "next ", "næste ", "neste ")
RECENT_DAYS = 14  # a yearless date that passed this recently is refused, not moved a year on
LONGEST = 4  # words in the longest date ("the day after tomorrow")


class DateError(ValueError):
    pass


class PastDate(DateError):
    """A date without a year that passed a few days ago: ``args`` (typed text, the date)."""


def parse_date(text: str, today: dt.date) -> dt.date:
    word = " ".join(text.strip().casefold().split())
    if word in TOMORROW:
        return today + dt.timedelta(days=1)
    if word in DAY_AFTER_TOMORROW:
        return today + dt.timedelta(days=2)
    if word in TODAY:
        return today
    if re.fullmatch(r"\+\d{1,3}", word):
        return today + dt.timedelta(days=int(word[1:]))
    day_name = word
    for lead in _WEEKDAY_LEAD:
        if day_name.startswith(lead):
            day_name = day_name[len(lead):]
            break
    if day_name in WEEKDAYS:
        ahead = (WEEKDAYS[day_name] - today.weekday() - 1) % 7 + 1
        return today + dt.timedelta(days=ahead)
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
        except ValueError:
            raise DateError(text) from None
        if date >= today:
            return date
        if (today - date).days <= RECENT_DAYS:
            raise PastDate(text, date)
        try:
            return dt.date(today.year + 1, month, day)
        except ValueError:  # 29.2 of a leap year, typed after it
            raise DateError(text) from None
    raise DateError(text)


def looks_like_date(text: str) -> bool:
    try:
        parse_date(text, dt.date(2000, 1, 1))
        return True
    except DateError:
        return False


def date_words(words: list[str]) -> int:
    """How many of the first words make a date ("i morgen" two, "1.12" one), 0 if none do."""
    for size in range(min(LONGEST, len(words)), 0, -1):
        if looks_like_date(" ".join(words[:size])):
            return size
    return 0
