"""When each team's weekly dashboard is due: pure functions of the team's posting day, time and
time zone, and of the time now.

The dashboard of ISO week W covers the last complete week, so it is due at the team's posting
day and time in week W+1, in the team's own time zone (default Monday 07:00). Within the grace
period after that moment a missed post is still made (after downtime); after it, the week is
skipped. Daylight-saving changes are the time zone database's business: a posting time that a
spring change skips is taken as the same wall-clock time before the change (02:30 becomes
03:30), one that an autumn change repeats as its first occurrence. Weeks are week indexes
(``metrics.weeks``), so 53-week years need no special case.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass

from metrics import weeks

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = "07:00"


class ScheduleError(ValueError):
    """A posting day or time that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class PostingTime:
    weekday: int  # 0 Monday ... 6 Sunday
    time: dt.time
    timezone: str

    @classmethod
    def of(cls, weekday: int | None, time: str | None, timezone: str) -> PostingTime:
        """A team's posting time from its stored values (None: the defaults)."""
        return cls(DEFAULT_WEEKDAY if weekday is None else weekday,
                   parse_time(time or DEFAULT_TIME), timezone)

    def describe(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.time:%H:%M} {self.timezone}"


def parse_weekday(text: str) -> int:
    """``mon`` ... ``sun`` (English, Danish or Norwegian, any case, three letters or more)."""
    word = text.strip().casefold()
    names = {
        0: ("monday", "mandag"), 1: ("tuesday", "tirsdag"), 2: ("wednesday", "onsdag"),
        3: ("thursday", "torsdag"), 4: ("friday", "fredag"), 5: ("saturday", "lørdag"),
        6: ("sunday", "søndag"),
    }
    for number, spellings in names.items():
        if len(word) >= 3 and any(s.startswith(word) for s in spellings):
            return number
    raise ScheduleError(f"{text!r} is not a weekday; write mon, tue, wed, thu, fri, sat or sun")


def parse_time(text: str) -> dt.time:
    """``07:00`` or ``7.30``: hours 0-23 and minutes 0-59."""
    cleaned = text.strip().replace(".", ":")
    hours, _, minutes = cleaned.partition(":")
    try:
        return dt.time(int(hours), int(minutes or 0))
    except ValueError:
        raise ScheduleError(f"{text!r} is not a time of day; write it as HH:MM, "
                            "such as 07:00") from None


def due_at(week: int, when: PostingTime) -> dt.datetime:
    """The moment (UTC) the dashboard of ``week`` is due: the posting day and time in the
    following week, in the team's time zone."""
    day = weeks.monday(week + 1) + dt.timedelta(days=when.weekday)
    local = dt.datetime.combine(day, when.time, tzinfo=zoneinfo.ZoneInfo(when.timezone))
    return local.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class WeekStatus:
    due: tuple[int, ...]  # weeks to post now
    expired: tuple[int, ...]  # weeks whose grace period ended within the last week


def weeks_at(now: dt.datetime, when: PostingTime, grace: dt.timedelta) -> WeekStatus:
    """Which weeks are due at ``now`` (aware), and which expired (their grace period ended)
    within the last week: a poster that runs at least weekly sees each expired week."""
    local_today = now.astimezone(zoneinfo.ZoneInfo(when.timezone)).date()
    newest = weeks.last_complete(local_today)
    reach = math.ceil(grace / dt.timedelta(weeks=1)) + 1
    due, expired = [], []
    for week in range(newest - reach, newest + 1):
        moment = due_at(week, when)
        if now < moment:
            continue
        if now < moment + grace:
            due.append(week)
        elif now < moment + grace + dt.timedelta(weeks=1):
            expired.append(week)
    return WeekStatus(tuple(due), tuple(expired))
