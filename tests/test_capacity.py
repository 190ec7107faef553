"""Capacity steering (issue 7): the model on exact numbers, then ``/capacity`` and the back
office's Monday message end to end, from imported exports, with their permissions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import numpy as np
import pandas as pd
import pytest

from bot.capacity_digest import CapacityDigest
from bot.edge import Edge
from bot.gateway import Gateway, web_client
from commands.context import Request
from commands.dispatch import answer
from metrics import capacity, weeks
from metrics.capacity import (
    FTE_HOURS,
    TARGET_PRODUCTIVITY,
    Shortage,
    TeamRecords,
    TempRule,
    by_urgency,
    plan,
    share_suggestions,
    shortages,
    temp_breach,
    weekly,
)
from metrics.forecast import Forecast
from storage.teams import TeamChanges, edit_team, get_team, set_channel_members
from tests.conftest import Clock
from tests.slack_standin import TOKEN

CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CPH)  # a Monday
LAST = weeks.last_complete(NOW.date())  # 2026-W47
HISTORY = 60
MEMBER, BACK_OFFICE, ADMIN, OUTSIDER = "U0MEMBER01", "U0BACKOFF1", "U0ADMIN001", "U0OUTSIDE1"
CHANNEL_A = "C0TEAMA001"
RATE_A = 7.4 / 104  # team A's sick hours over its contracted hours, every week


# -- the model --------------------------------------------------------------------------------

def _records(staff=(), hours=(), visits=(), norms=()) -> TeamRecords:
    return TeamRecords(
        pd.DataFrame(list(staff), columns=["employee_id", "profession", "contracted_hours",
                                           "start_week", "end_week"]).astype({"end_week": float}),
        pd.DataFrame(list(hours), columns=["week", "employee_id", "kind", "profession", "hours"]),
        pd.DataFrame(list(visits), columns=["week", "employee_id", "client_hours"]),
        pd.DataFrame(list(norms), columns=["profession", "week", "hours_per_week"]))


def test_weekly_sums_by_group_with_temps_shared_out_and_changed_professions():
    records = _records(
        staff=[("E1", "nurse", 37, 100, None), ("E2", "sosu_helper", 30, 100, 101),
               ("E2", "sosu_assistant", 32, 102, None)],  # E2 trained on
        hours=[(100, "E1", "worked", None, 30), (100, "E1", "sick", None, 7),
               (101, "E2", "vacation", None, 30), (102, "E2", "worked", None, 32),
               (100, None, "temp", "nurse", 6), (100, None, "temp", None, 2)],
        visits=[(100, "E1", 18.0), (102, "E2", 20.0), (100, "AGENCY", 8.0)],
        norms=[("nurse", 90, 40.0), ("nurse", 101, 44.0)])
    table = weekly(records, 100, 102)
    assert list(table.index.get_level_values("profession").unique()) == [
        "nurse", "sosu_assistant", "sosu_helper", "other"]
    nurse = table.loc["nurse"]
    assert nurse["contracted"].tolist() == [37, 37, 37]
    assert nurse["absence"].tolist() == [7, 0, 0] and nurse["worked"].tolist() == [30, 0, 0]
    assert nurse["temp"].tolist() == [6, 0, 0]
    # the agency's 8 visit hours go 6:2 to nurses and others, as the temp hours do
    assert nurse["client_hours"].tolist() == [18 + 6, 0, 0]
    assert table.loc["other"]["client_hours"].tolist() == [2, 0, 0]
    assert nurse["norm"].tolist() == [40, 44, 44]
    helper, assistant = table.loc["sosu_helper"], table.loc["sosu_assistant"]
    assert helper["contracted"].tolist() == [30, 30, 0]
    assert helper["vacation"].tolist() == [0, 30, 0] and helper["absence"].tolist() == [0, 30, 0]
    assert assistant["contracted"].tolist() == [0, 0, 32]
    assert assistant["worked"].tolist() == [0, 0, 32]
    assert assistant["client_hours"].tolist() == [0, 0, 20]
    assert np.isnan(helper["norm"]).all()


def _constant_forecast(values, weeks_, horizon):
    mean = np.full(horizon, float(np.nanmean(values)))
    return Forecast(weeks_[-1] + np.arange(1, horizon + 1), mean, mean * 0.9, mean * 1.2)


def test_the_plan_uses_known_ends_the_absence_rate_and_last_years_vacation():
    last = 200
    staff = [("E1", "nurse", 37, 100, None), ("E2", "nurse", 37, 100, last + 3)]
    hours, visits = [], []
    for week in range(last - 70, last + 1):
        hours += [(week, "E1", "worked", None, 37), (week, "E2", "worked", None, 33.3),
                  (week, "E2", "sick", None, 3.7)]
        visits.append((week, "E1", 40.0))
    # a year before the first coming week, E1 was on vacation for three weeks running
    for week in (last + 1 - 53, last + 1 - 52, last + 1 - 51):
        hours.append((week, "E1", "vacation", None, 37))
    made = plan("A", _records(staff, hours, visits), last, horizon=6,
                forecaster=_constant_forecast)
    nurse = made.group("nurse")
    assert nurse.weeks.tolist() == list(range(last - 12, last + 7)) and nurse.coming == 6
    sick_rate = 3.7 / 74
    assert made.absence_rate[0] == pytest.approx(sick_rate + 37 * 3 / (74 * 3))
    assert made.absence_rate[3] == pytest.approx(sick_rate)  # no vacation a year before
    # the forecast's mean (and interval) of the client hours, at the target productivity
    client = (40 * 70 + 40) / 71  # the vacation weeks' visits were still made
    assert nurse.needed[-1] == pytest.approx(client / TARGET_PRODUCTIVITY)
    assert nurse.needed_low[-1] == pytest.approx(0.9 * client / TARGET_PRODUCTIVITY)
    assert nurse.needed[0] == pytest.approx(40 / TARGET_PRODUCTIVITY)
    # past weeks: contracted minus what was registered as absence
    assert nurse.available[12] == pytest.approx(74 - 3.7)
    # E2's employment ends in the third coming week: it still counts there, not after
    assert nurse.available[13 + 2] == pytest.approx(74 * (1 - made.absence_rate[2]))
    assert nurse.available[13 + 3] == pytest.approx(37 * (1 - made.absence_rate[3]))
    assert np.isnan(nurse.worked[13:]).all() and nurse.worked[12] == pytest.approx(70.3)


def test_a_short_history_falls_back_to_its_mean():
    made = plan("A", _records([("E1", "nurse", 37, 100, None)],
                              [(199, "E1", "worked", None, 37), (200, "E1", "worked", None, 37)],
                              [(199, "E1", 20.0), (200, "E1", 30.0)]), 200)
    nurse = made.group("nurse")
    assert nurse.needed[-1] == pytest.approx(25 / TARGET_PRODUCTIVITY)
    assert nurse.needed_high[-1] == pytest.approx(25 * (1 + capacity.FALLBACK_SPREAD)
                                                 / TARGET_PRODUCTIVITY)


def test_a_team_without_any_records_has_no_groups():
    made = plan("NEW", _records(), 200)
    assert made.groups == () and made.absence_rate.tolist() == [0.0] * capacity.HORIZON


def test_the_professions_are_the_contracts():
    from storage.importers.contract import ENUMS

    assert set(capacity.PROFESSIONS) == set(ENUMS["profession"])


def _row(team: str, gaps: list[float], profession: str = "nurse") -> Shortage:
    return Shortage(team, profession, np.arange(300, 300 + len(gaps)), np.array(gaps, float))


def test_urgency_sharing_without_double_promises_and_recruiting():
    late = _row("LATE", [0, 0, 0, -2, -2, -2, -2, -2])
    soon = _row("SOON", [-0.6, -0.6, -0.6, -0.6, -0.6, 0, 0, 0])
    spare = _row("SPARE", [1.0] * 8)
    spare2 = _row("SPARE2", [0.3] * 8)
    helpers = _row("H", [5.0] * 8, "sosu_helper")
    assert shortages([]) == []
    assert [r.team for r in by_urgency([late, spare, helpers, soon, spare2])] == [
        "SOON", "LATE", "SPARE2", "SPARE", "H"]
    assert late.recruit and not soon.recruit and late.first_short == 303
    found = share_suggestions([late, soon, spare, spare2, helpers])
    # LATE (the larger shortage) is served first; SPARE's 1 FTE is promised once a week, so
    # SOON gets it only in the weeks before LATE's shortage
    assert [(s.giver, s.taker, s.first_week, s.last_week, s.fte) for s in found] == [
        ("SPARE", "LATE", 303, 307, 1.0), ("SPARE", "SOON", 300, 302, 0.6)]
    assert share_suggestions([_row("A", [-1, 0, 0]), _row("B", [1, 1, 1])]) == []  # one week
    assert share_suggestions([_row("A", [-1, -1]), _row("B", [1, 1], "ot")]) == []  # groups


def test_temp_rule_breaches_need_the_weeks_running():
    rule = TempRule(0.08, 3)
    shares = {10: 0.05, 11: 0.09, 12: 0.10, 13: 0.085}
    breach = temp_breach("A", rule, shares, 13)
    assert breach.weeks_running == 3 and breach.current == 0.085
    assert temp_breach("A", rule, shares | {12: None}, 13) is None  # a week without a value
    assert temp_breach("A", TempRule(0.08, 4), shares, 13) is None


# -- end to end -------------------------------------------------------------------------------

def _write_exports(folder) -> list[str]:
    """Teams A (nurses short once E2 leaves, temps above 7 %), B (nurses to spare) and C."""
    start = weeks.monday(LAST - HISTORY + 1)
    staff = [("A-E1", "A", "sygeplejerske", 37, "2020-01-01", ""),
             ("A-E2", "A", "nurse", 37, "2020-01-01", weeks.sunday(LAST + 2).isoformat()),
             ("A-E3", "A", "ssh", 30, "2020-01-01", ""),
             ("B-E1", "B", "nurse", 37, "2020-01-01", ""),
             ("B-E2", "B", "nurse", 37, "2020-01-01", ""),
             ("B-E3", "B", "nurse", 37, "2020-01-01", ""),
             ("C-E1", "C", "ssh", 30, "2020-01-01", "")]
    hours, visits = [], []
    weekly_hours = [("A-E1", "A", "worked", 37, ""), ("A-E2", "A", "worked", 29.6, ""),
                    ("A-E2", "A", "sick", 7.4, ""), ("A-E3", "A", "worked", 30, ""),
                    ("", "A", "temp", 8, "sosu_helper"), ("B-E1", "B", "worked", 37, ""),
                    ("B-E2", "B", "worked", 37, ""), ("B-E3", "B", "worked", 37, ""),
                    ("C-E1", "C", "worked", 30, "")]
    for week in range(LAST - HISTORY + 1, LAST + 1):
        day = weeks.monday(week).isoformat()
        for weekday in range(5):  # each week's hours spread over Monday to Friday
            date = (weeks.monday(week) + dt.timedelta(days=weekday)).isoformat()
            hours += [(e, t, date, kind, h / 5, p) for e, t, kind, h, p in weekly_hours]
        for employee, minutes in (("A-E1", 600), ("A-E1", 600), ("A-E1", 600), ("A-E2", 900),
                                  ("A-E3", 900), ("A-T9", 300), ("B-E1", 600), ("B-E1", 600),
                                  ("B-E1", 600), ("C-E1", 900)):
            visits.append((f"V{len(visits):06d}", employee[0], f"B-{len(visits) % 7 + 100}",
                           employee, day, minutes, "delivered"))
    norms = [("A", "nurse", start.isoformat(), 74), ("A", "nurse",
             (weeks.monday(LAST - 5) + dt.timedelta(days=2)).isoformat(), 80),
             ("A", "sosu_helper", start.isoformat(), 30)]
    frames = {
        "staff": pd.DataFrame(staff, columns=["employee_id", "team", "profession",
                                              "contracted_hours", "start_date", "end_date"]),
        "hours": pd.DataFrame(hours, columns=["employee_id", "team", "date", "kind", "hours",
                                              "profession"]),
        "visits": pd.DataFrame(visits, columns=["visit_id", "team", "citizen_ref",
                                                "employee_id", "date", "minutes", "status"]),
        "norms": pd.DataFrame(norms, columns=["team", "profession", "valid_from",
                                              "hours_per_week"]),
    }
    paths = []
    for kind, frame in frames.items():
        path = folder / f"{kind}.csv"
        frame.to_csv(path, index=False)
        paths.append(str(path))
    return paths


@pytest.fixture
def imported(cli, edge, tmp_path):
    for kind, path in zip(("staff", "hours", "visits", "norms"), _write_exports(tmp_path),
                          strict=True):
        cli("import", kind, path)
    with edge.sessions.begin() as session:
        edit_team(session, get_team(session, "A"), TeamChanges(
            add_channels=(CHANNEL_A,), add_roles=(("back_office", BACK_OFFICE),)))
        edit_team(session, get_team(session, "B"), TeamChanges(
            add_roles=(("back_office", BACK_OFFICE),)))
        set_channel_members(session, CHANNEL_A, [MEMBER])
    return edge


def _ask(edge, text: str, user: str, channel: str = "C0ELSEWHR1"):
    with edge.sessions.begin() as session:
        return answer(Request("/capacity", text, user, channel), session, now=NOW,
                      default_language="en", admins=frozenset({ADMIN}))


def test_a_teams_capacity_from_its_exports(imported):
    reply = _ask(imported, "", MEMBER, CHANNEL_A)
    assert not reply.error, reply.text
    assert "*Capacity of team A*" in reply.text and "week 48 2026 to week 2 2027" in reply.text  # 2026 has a week 53
    fields = dict(reply.fields)
    nurses = fields["Nurses"]
    available = (2 * 74 * (1 - RATE_A) + 6 * 37 * (1 - RATE_A)) / 8
    assert f"available {round(available)} h" in nurses
    assert "needed 72 h (80 %: 72–72)" in nurses and "norm 80 h" in nurses
    worst = 72 - 37 * (1 - RATE_A)
    assert (f"short from week 50 2026: up to {worst / FTE_HOURS:.1f} FTE ({round(worst)} h)"
            in nurses)
    assert "last week: worked 67 h, temps 0 h" in nurses  # 37 + 29.6
    helpers = fields["Social and health care helpers"]
    assert "needed 32 h" in helpers and "in balance" in helpers
    assert "last week: worked 30 h, temps 8 h" in helpers
    assert reply.chart.png.startswith(b"\x89PNG") and not reply.share


def test_who_may_see_what(imported):
    assert _ask(imported, "A", OUTSIDER).error
    assert "for its members, its coaches and its back office" in _ask(imported, "A",
                                                                         OUTSIDER).text
    assert not _ask(imported, "A", BACK_OFFICE).error
    assert not _ask(imported, "C", ADMIN).error
    refused = _ask(imported, "all", MEMBER)
    assert refused.error and "/capacity all is for the back office and the admins" in refused.text
    mine = _ask(imported, "alle", BACK_OFFICE)
    assert "*Capacity of 2 teams*" in mine.text and "C nurse" not in mine.text
    everyone = _ask(imported, "all", ADMIN)
    assert "*Capacity of 3 teams*" in everyone.text
    assert _ask(imported, "regel A 7% 3", MEMBER).error
    assert _ask(imported, "rule A 12 2", BACK_OFFICE).text.startswith("Team A breaks")
    assert _ask(imported, "rule C 8% 3", BACK_OFFICE).error  # not C's back office
    assert "A: above 12.0 % for 2 weeks running" in _ask(imported, "rules", ADMIN).text
    for text, message in (("rule A 150% 3", "is not a temp share"),
                          ("rule A 8% 0", "is not a number of weeks"),
                          ("rule A", "Write a temp rule as"), ("A B", "Name one team only"),
                          ("all share", "takes no other words"), ("ZZ", "There is no team ZZ")):
        reply = _ask(imported, text, ADMIN)
        assert reply.error and message in reply.text, (text, reply.text)


def test_the_overview_sorts_shares_recruits_and_lists_breaches(imported):
    _ask(imported, "rule A 7% 3", ADMIN)
    _ask(imported, "rule B 8% 3", ADMIN)
    reply = _ask(imported, "all", ADMIN)
    table = reply.text.split("```")[1].strip().splitlines()
    assert table[0].split() == ["48", "49", "50", "51", "52", "53", "01", "02"]
    assert table[1].startswith("A nurse")  # the only shortage comes first
    short = -(72 - 37 * (1 - RATE_A)) / FTE_HOURS
    assert table[1].split()[-1] == f"{short:.1f}"
    assert table[-1].startswith("B nurse")  # the largest surplus last
    fte = f"{-short:.1f}"
    assert (f"B has {fte} FTE nurse to spare while A is short, week 50 2026 to week 2 2027"
            in reply.text)
    assert "A nurse: short" in reply.text.split("Consider recruiting")[1]
    breaches = reply.text.split("Temp rules broken")[1]
    share = 8 / (37 + 29.6 + 30 + 8)
    # the run is counted back a year at most (53 weeks)
    assert (f"A: temp share {share * 100:.1f} % in the last week, above 7 % for 53 weeks "
            f"running (rule: 3 weeks)") in breaches
    assert "B:" not in breaches
    assert reply.chart.png.startswith(b"\x89PNG")


def test_a_norms_import_alone_is_seen_at_once(imported, cli, tmp_path):
    from storage.kpi_cache import KpiCache

    cache = KpiCache()

    def ask():
        with imported.sessions.begin() as session:
            return answer(Request("/capacity", "A", ADMIN, "C0ELSEWHR1"), session, now=NOW,
                          default_language="en", admins=frozenset({ADMIN}), cache=cache)

    assert "norm 80 h" in dict(ask().fields)["Nurses"]
    path = tmp_path / "norms2.csv"
    path.write_text(f"team,profession,valid_from,hours_per_week\n"
                    f"A,nurse,{weeks.monday(LAST).isoformat()},90\n", encoding="utf-8")
    cli("import", "norms", str(path))
    assert "norm 90 h" in dict(ask().fields)["Nurses"]


def test_the_back_office_gets_one_monday_message(imported, standin):
    clock = Clock(NOW)
    settings = dataclasses.replace(imported.settings, admins=frozenset({ADMIN}))
    timed = Edge(settings, clock.now, clock=clock)
    timed.__dict__["engine"] = imported.engine
    digest = CapacityDigest(timed, Gateway(web_client(TOKEN, standin.base_url,
                                                      connection_retries=0)))
    _ask(imported, "rule A 7% 3", ADMIN)
    clock.now = NOW.replace(hour=7)
    assert digest.when_due() is False  # before 08:00
    clock.now = NOW
    assert digest.when_due() is True
    assert digest.when_due() is False  # once a week
    (message,) = standin.posted(BACK_OFFICE)
    text = message["text"]
    assert "Capacity this week for your 2 teams" in text
    assert "A nurse: short from week 50 2026" in text
    assert "B has" in text and "Temp rules broken" in text
    assert standin.posted(ADMIN) == [] and standin.posted(MEMBER) == []
    clock.now = NOW + dt.timedelta(days=7)
    assert digest.when_due() is True and len(standin.posted(BACK_OFFICE)) == 2


def test_capacity_through_the_slack_app(imported, standin):
    """A signed /capacity request to the real bolt app: acknowledged, then answered privately
    with the chart uploaded but shared nowhere."""
    from tests.test_goals import SlackApp

    slack = SlackApp(imported, standin, Clock(NOW))
    try:
        assert slack.command("/capacity", "", user=MEMBER, channel=CHANNEL_A).status == 200
        (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    finally:
        slack.bot.shutdown(wait=True)
    assert posted.args["user"] == MEMBER and "Capacity of team A" in posted.args["text"]
    image = next(b for b in posted.args["blocks"] if b["type"] == "image")
    assert standin.uploads[image["slack_file"]["id"]].startswith(b"\x89PNG")
    (completed,) = standin.of("files.completeUploadExternal")
    assert not completed.args.get("channel_id")
