"""A newcomer's first hour (issue 20): what a new user typed, as the README and the bot's own
messages suggest it, answered through the real Slack app, the console and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage.models import FollowUp
from storage.teams import TeamChanges, add_team, set_channel_members
from tests.conftest import Clock
from tests.test_goals import CPH, MEMBER, MEMBER2, SlackApp

CHANNEL_DA, CHANNEL_NB, CHANNEL_EN = "C0TEAMDA01", "C0TEAMNB01", "C0TEAMEN01"
CHANNELS = {"da": CHANNEL_DA, "nb": CHANNEL_NB, "en": CHANNEL_EN}
DECEMBER_1 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=CPH)  # a Tuesday


@pytest.fixture
def slack(edge, standin):
    with edge.sessions.begin() as session:
        for code, language in (("HAD-DA", "da"), ("VOJ-NB", "nb"), ("ODE-EN", "en")):
            add_team(session, code, TeamChanges(language=language,
                                                add_channels=(CHANNELS[language],)))
            set_channel_members(session, CHANNELS[language], [MEMBER, MEMBER2])
    clock = Clock(DECEMBER_1)
    made = SlackApp(edge, standin, clock)
    made.clock = clock
    yield made
    made.bot.shutdown(wait=True)


def _answer(slack, standin, command: str, text: str, language: str = "en") -> str:
    before = len(standin.of("chat.postEphemeral"))
    slack.command(command, text, channel=CHANNELS[language])
    return standin.wait_for(lambda: standin.of("chat.postEphemeral")[before:])[0].args["text"]


def _due_dates(edge) -> list[dt.date]:
    with edge.sessions.begin() as session:
        return list(session.scalars(select(FollowUp.due_on).order_by(FollowUp.id)))


# -- /followup dates ----------------------------------------------------------------------------

@pytest.mark.parametrize("language, typed, due, shown", [
    ("da", "i morgen", dt.date(2026, 12, 2), "2. december 2026"),
    ("nb", "i morgen", dt.date(2026, 12, 2), "2. desember 2026"),
    ("da", "i overmorgen", dt.date(2026, 12, 3), "3. december 2026"),
    ("en", "tomorrow", dt.date(2026, 12, 2), "2 December 2026"),
    ("da", "mandag", dt.date(2026, 12, 7), "7. december 2026"),
    ("nb", "på fredag", dt.date(2026, 12, 4), "4. desember 2026"),
    ("da", "tirsdag", dt.date(2026, 12, 8), "8. december 2026"),  # today is Tuesday: next week
    ("en", "on Monday", dt.date(2026, 12, 7), "7 December 2026"),
])
def test_a_follow_up_takes_the_dates_people_say(slack, standin, edge, language, typed, due,
                                                 shown):
    text = _answer(slack, standin, "/followup",
                   f"add B-10442 <@{MEMBER2}|mette> {typed} ring til datteren", language)
    assert shown in text, text
    assert _due_dates(edge) == [due]
    with edge.sessions.begin() as session:
        assert session.scalars(select(FollowUp.text)).one() == "ring til datteren"


def test_a_date_that_just_passed_is_refused_with_the_year_to_write(slack, standin, edge):
    text = _answer(slack, standin, "/followup", f"add <@{MEMBER2}|mette> 30.11 ring", "da")
    assert text == ("30.11 var for 1 dage siden (30. november 2026). Skriv en senere dato, "
                    "eller året hvis du mener næste år: 30.11.2027.")
    assert _due_dates(edge) == []


def test_a_date_long_past_is_next_years_and_the_answer_says_so(slack, standin, edge):
    text = _answer(slack, standin, "/followup", f"add <@{MEMBER2}|mette> 3.10 ring", "nb")
    assert "frist 3. oktober 2027. Merk: det er i 2027." in text, text
    assert _due_dates(edge) == [dt.date(2027, 10, 3)]


def test_a_word_that_is_no_date_is_still_refused(slack, standin, edge):
    text = _answer(slack, standin, "/followup", f"add <@{MEMBER2}|mette> snart ring", "da")
    assert text.startswith("snart er ikke en dato; skriv fx 1.12, 2026-12-01 eller i morgen")
    assert _due_dates(edge) == []
