"""ISO weeks (Monday to Sunday), written ``2026-W47``.

Storage and arithmetic use a *week index*: the number of whole weeks since Monday 0001-01-01,
so ``index - 1`` is always the previous week, across year ends and 53-week years alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


class WeekError(ValueError):
    """A week label that is not of the form ``2026-W47`` or names no real week."""


def week_index(day: dt.date) -> int:
    """The week index of the ISO week that contains ``day``."""
    return of_ordinal(day.toordinal())


def of_ordinal(ordinal):
    """The week index of a date ordinal (``date.toordinal()``); works on arrays too."""
    return (ordinal - 1) // 7


def monday(index: int) -> dt.date:
    """The Monday that starts the week with this index."""
    return dt.date.fromordinal(index * 7 + 1)


def sunday(index: int) -> dt.date:
    return dt.date.fromordinal(index * 7 + 7)


def label(index: int) -> str:
    """``2026-W47`` for the week with this index."""
    year, week, _ = monday(index).isocalendar()
    return f"{year}-W{week:02d}"


@functools.lru_cache(maxsize=8192)
def number(index: int) -> int:
    """The ISO week number (1-53) of the week with this index."""
    return monday(index).isocalendar()[1]


def numbers(indexes):
    """ISO week numbers of an array of week indexes, as a numpy array."""
    import numpy as np  # numpy only where arrays are asked for: the CLI starts fast

    return np.fromiter((number(int(w)) for w in indexes), dtype=np.int64, count=len(indexes))


def parse(text: str) -> int:
    """The week index of a label such as ``2026-W47`` (``2026W47`` and ``2026-w7`` too)."""
    match = _WEEK_RE.match(text)
    if not match:
        raise WeekError(f"{text!r} is not a week; write it as 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        day = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WeekError(f"{text!r} is not a week: {year} has no week {week}") from None
    return week_index(day)


def last_complete(today: dt.date) -> int:
    """The index of the last ISO week that has ended before ``today``."""
    return week_index(today) - 1
