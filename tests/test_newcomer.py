"""A newcomer's first hour (issue 20): what a new user typed, as the README and the bot's own
messages suggest it, answered through the real Slack app, the console and the CLI."""

from __future__ import annotations

import datetime as dt
import json

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


# -- /kpi weeks, teams and names, in the chat and on the command line -----------------------------

FILES = ("staff", "hours", "visits", "norms")


@pytest.fixture
def imported(cli, tmp_path):
    from tests.conftest import SAMPLES

    cli.charts = tmp_path / "charts"
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    cli("team", "edit", "HAD-C", "--name", "Haderslev Centrum", "--add-channel", "C0HADC0001")
    cli("team", "edit", "HAD-V", "--name", "Haderslev Vest")
    return cli


def _chat(cli, line: str, lang: str = "en") -> str:
    """The answer to a line in the console (the chat's handlers), in team HAD-C's channel."""
    return cli("chat", "--lang", lang, "--channel", "C0HADC0001", "--charts", cli.charts,
               "-c", line).output.strip()


def test_week_53_in_a_year_of_52_weeks_is_explained(imported):
    # today is 22 November 2026: week 53 of 2026 has not ended, and 2025 had 52 weeks
    da = _chat(imported, "/kpi uge 53", lang="da")
    assert da == ("Uge 53 2026 er ikke slut endnu, og 2025 har 52 uger; den seneste hele uge "
                  "er uge 46 2026.")
    en = _chat(imported, "/kpi W53 2025")
    assert en == "2025 has no week 53; it has 52 weeks."


def test_a_week_that_has_not_ended_is_told_so(imported):
    nb = _chat(imported, "/kpi 2026-W50", lang="nb")
    assert nb == "Uke 50 2026 er ikke over ennå; den siste hele uken er uke 46 2026."


def test_a_week_without_data_names_the_weeks_that_have_data(imported):
    card = _chat(imported, "/kpi uge 10 2026")
    assert "No data for this week. Team HAD-C has data from week 36 2025 to week 51 2025." \
        in card, card
    trend = _chat(imported, "/kpi sick leave W40 2026", lang="nb")
    assert "Team HAD-C har data fra uke 36 2025 til uke 51 2025." in trend, trend
    everyone = _chat(imported, "/kpi sick leave all uge 10 2026", lang="da")
    assert "intet team har data. Data fra uge 36 2025 til uge 51 2025." in everyone, everyone


def test_week_and_year_a_teams_name_and_a_kpi_without_accents(imported):
    named = _chat(imported, "/kpi W47 2025 VOJ-N", lang="da")
    assert named.startswith("Team VOJ-N, uge 47 2025"), named
    by_name = _chat(imported, "/kpi haderslev vest W47 2025", lang="da")
    assert by_name.startswith("Team HAD-V, uge 47 2025"), by_name
    no_accent = _chat(imported, "/kpi sygefravar uge 47 2025", lang="da")
    assert no_accent.startswith("Sygefravær, team HAD-C, uge 47 2025"), no_accent
    assert _chat(imported, "/kpi Haderslev uge 47 2025", lang="da") == ("Haderslev kan være flere teams: HAD-C (Haderslev Centrum), "
                         "HAD-V (Haderslev Vest). Nævn ét.")


@pytest.mark.parametrize("team, week", [
    ("had-c", "W47 2025"), ("HAD-C", "uge 47 2025"), ("Haderslev Centrum", "2025-W47"),
])
def test_the_cli_takes_the_chats_week_and_team_forms(imported, team, week):
    import json

    out = json.loads(imported("kpi", "--team", team, "--week", week, "--json").output)
    assert (out["team"], out["week"]) == ("HAD-C", "2025-W47")


def test_the_cli_explains_a_week_as_the_chat_does(imported):
    result = imported("kpi", "--team", "HAD-C", "--week", "uge 53", ok=False)
    assert result.exit_code == 1
    assert ("Week 53 2026 has not ended yet, and 2025 has 52 weeks; the last complete week is "
            "week 46 2026.") in result.stderr


# -- setting up: admins, team links and the database URL ------------------------------------------

@pytest.fixture
def admin_cli(edge):
    import dataclasses

    from bot.edge import Edge
    from tests.conftest import Cli

    settings = dataclasses.replace(edge.settings, admins=frozenset({"U0ADMIN001"}))
    made = Edge(settings, edge.now)
    made.__dict__["engine"] = edge.engine
    return Cli(made)


def _admin(cli, text: str, lang: str = "en") -> str:
    return cli("chat", "--as", "U0ADMIN001", "--lang", lang, "--channel", "C0NEWCHAN1",
               "-c", f"/teampuls admin {text}").output.strip()


def test_no_admins_configured_names_the_setting(cli):
    out = cli("chat", "--lang", "da", "-c", "/teampuls admin teams").output
    assert "TEAMPULS_ADMINS" in out and "–" not in out, out


def test_a_team_typo_in_admin_link_is_refused_not_made_a_team(admin_cli):
    admin_cli("team", "add", "HAD-C")
    admin_cli("team", "add", "VOJ-N")
    assert _admin(admin_cli, "link HAD-X", "da") == (
        "Der er intet team HAD-X; mente du HAD-C? Teams: HAD-C, VOJ-N. Skriv /teampuls admin "
        "link new HAD-X for at oprette et nyt team.")
    assert _admin(admin_cli, "link ZZZ") == (
        "There is no team ZZZ (teams: HAD-C, VOJ-N). To make a new team, write /teampuls admin "
        "link new ZZZ.")
    codes = lambda: [t["code"] for t in json.loads(admin_cli("team", "list", "--json").output)]  # noqa: E731
    assert codes() == ["HAD-C", "VOJ-N"]
    assert "had-c" not in _admin(admin_cli, "link had-c")  # a code in another case is the team
    assert "is now the channel of team HAD-C" in _admin(admin_cli, "link had-c")
    assert "is now the channel of team HAD-X" in _admin(admin_cli, "link new HAD-X #C0OTHER01")
    assert codes() == ["HAD-C", "HAD-X", "VOJ-N"]


def test_admin_messages_are_in_the_users_language(admin_cli):
    admin_cli("team", "add", "HAD-C")
    assert _admin(admin_cli, "coach HAD-C Mette", "da") == (
        "'Mette' er ikke et Slack-bruger-id (som U0123ABCD); kopiér det fra brugerens profil i "
        "Slack")
    assert _admin(admin_cli, "coach HAD-C Mette", "nb").startswith(
        "'Mette' er ikke en Slack-bruker-ID")


def test_an_unsupported_database_is_named_with_the_supported_ones(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bot", "--database-url", "mysql://x",
                           "team", "list"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "'mysql', which teampuls does not support; use SQLite" in done.stderr
    assert "or PostgreSQL" in done.stderr
