"""The week and team words of ``/kpi``, shared by the chat and ``teampuls kpi`` so that both take
the same forms: ``2026-W45``, ``W45``, ``uge 45`` / ``uke 45`` / ``week 45``, each optionally
followed by a year (``W49 2026``, ``uge 49 2026``); a team by its code in any case or by its
name (``Haderslev Centrum``, or ``Haderslev`` when only one team's name starts so), without
regard to accents. Light on imports: ``teampuls kpi`` starts fast."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from commands.i18n import N_
from commands.kpi_names import folds
from commands.reply import UsageError
from metrics import weeks

WEEK_WORDS = frozenset({"week", "uge", "uke", "wk", "u"})
_SHORT_WEEK = re.compile(r"^(?:w|uge|uke|week|u)(\d{1,2})$", re.IGNORECASE)
_LABEL = re.compile(r"^\d{4}-?W\d{1,2}$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class WeekAsked:
    """A week as typed: an ISO week (``index``), or a number whose year is chosen when
    answered (the latest such week that has ended)."""

    index: int | None = None
    number: int | None = None


def weeks_in(year: int) -> int:
    return dt.date(year, 12, 28).isocalendar()[1]


def week_at(words: list[str], i: int) -> tuple[WeekAsked | None, int]:
    """The week that the words from ``i`` name and how many words it takes; (None, 0) if none."""
    word = words[i]
    if _LABEL.match(word):
        try:
            return WeekAsked(index=weeks.parse(word)), 1
        except weeks.WeekError:
            year, number = re.split(r"-?w", word, flags=re.IGNORECASE)
            raise _no_such_week(int(year), int(number)) from None
    if (short := _SHORT_WEEK.match(word)):
        number, size = short.group(1), 1
    elif word.casefold() in WEEK_WORDS and i + 1 < len(words) and words[i + 1].isdigit():
        number, size = words[i + 1], 2
    else:
        return None, 0
    value = week_number(number)
    if i + size < len(words) and _YEAR.match(words[i + size]):
        year = int(words[i + size])
        if value > weeks_in(year):
            raise _no_such_week(year, value)
        return WeekAsked(index=weeks.parse(f"{year}-W{value:02d}")), size + 1
    return WeekAsked(number=value), size


def week_number(text: str) -> int:
    number = int(text)
    if not 1 <= number <= 53:
        raise UsageError(N_("{word} is not a week number (1 to 53)"), word=text)
    return number


def _no_such_week(year: int, number: int) -> UsageError:
    return UsageError(N_("{year} has no week {week}; it has {count} weeks."),
                      year=year, week=number, count=weeks_in(year))


def parse_week(text: str) -> WeekAsked:
    """A whole text that names a week (``teampuls kpi --week``)."""
    words = text.split()
    if words:
        asked, size = week_at(words, 0)
        if asked is not None and size == len(words):
            return asked
    raise UsageError(N_("{word} is not a week; write it as 2026-W45 or uge 45"), word=text)


def chosen_week(asked: WeekAsked | None, last: int) -> int:
    """The week index meant, given the last complete week; a week that has not ended is
    refused with the last one that has, and a week number no recent year has is explained."""
    if asked is None:
        return last
    if asked.index is not None:
        if asked.index > last:
            raise _not_ended(asked.index, last)
        return asked.index
    year = weeks.monday(last).isocalendar()[0]
    for candidate in (year, year - 1):
        if asked.number <= weeks_in(candidate):
            index = weeks.parse(f"{candidate}-W{asked.number:02d}")
            if index <= last:
                return index
    if asked.number <= weeks_in(year):  # this year's has not ended; last year had none
        return _raise(UsageError(
            N_("Week {week} {year} has not ended yet, and {before} has {count} weeks; the last "
               "complete week is week {last_week} {last_year}."),
            week=asked.number, year=year, before=year - 1, count=weeks_in(year - 1),
            last_week=weeks.number(last), last_year=year))
    return _raise(UsageError(N_("Neither {year} nor {before} has a week {week}."),
                             year=year, before=year - 1, week=asked.number))


def _raise(error: UsageError):
    raise error


def _not_ended(index: int, last: int) -> UsageError:
    year, number = weeks.label(index).split("-W")
    last_year, last_number = weeks.label(last).split("-W")
    return UsageError(N_("Week {week} {year} has not ended yet; the last complete week is week "
                         "{last_week} {last_year}."), week=int(number), year=year,
                      last_week=int(last_number), last_year=last_year)


# -- teams --------------------------------------------------------------------------------------

def named_teams(words: tuple[str, ...] | list[str],
                teams: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The team codes that the words name (by code, whole name or the start of one team's
    name) and the words left over. ``teams`` are (code, name) pairs."""
    by_code = {code.casefold(): code for code, _name in teams}
    by_name: dict[str, set[str]] = {}
    for code, name in teams:
        for form in folds(name):
            by_name.setdefault(form, set()).add(code)
    words = list(words)
    found: list[str] = []
    left: list[str] = []
    i = 0
    while i < len(words):
        if words[i].casefold() in by_code:
            found.append(by_code[words[i].casefold()])
            i += 1
            continue
        for size in range(len(words) - i, 0, -1):  # the longest whole name first
            codes = set().union(*(by_name.get(f, set())
                                  for f in folds(" ".join(words[i:i + size]))))
            if len(codes) == 1:
                found.append(codes.pop())
                i += size
                break
        else:
            starting = {code for code, name in teams
                        if folds(words[i]) & {f.split(" ")[0] for f in folds(name) if f}}
            if len(starting) == 1:
                found.append(starting.pop())
            elif len(starting) > 1:
                names = dict(teams)
                raise UsageError(N_("{word} could be several teams: {teams}. Name one."),
                                 word=words[i], teams=", ".join(
                                     f"{code} ({names[code]})" for code in sorted(starting)))
            else:
                left.append(words[i])
            i += 1
    return found, left
