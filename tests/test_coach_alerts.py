"""Coach alerts end to end: the detector on the stored KPIs, one DM per coach with the SPC
chart and buttons through the stand-in, exactly once, the buttons, the digest and the
monthly summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import zoneinfo

import numpy as np
import pytest
from sqlalchemy import select

from bot.coach_alerts import EVENT_TYPE, CoachAlerts
from bot.edge import Edge
from bot.gateway import Gateway, web_client
from metrics import weeks
from storage import coach_alerts
from storage.models import AlertMessage, DriftAlert, KpiValue
from storage.teams import TeamChanges, add_team, set_channel_members
from tests.conftest import Clock
from tests.slack_standin import TOKEN
from tests.test_goals import SlackApp

CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CPH)  # a Monday
LAST = weeks.last_complete(NOW.date())  # 2026-W47
COACH, COACH2, ADMIN, RAPPORTER = "U0COACH001", "U0COACH002", "U0ADMIN001", "U0RAPP0001"


@pytest.fixture
def kpis(edge):
    """20 teams' sick leave over 120 weeks; team T03's rose sharply three weeks ago."""
    rng = np.random.default_rng(5)
    with edge.sessions.begin() as session:
        ids = {}
        for n in range(20):
            code = f"T{n:02d}"
            roles = (("coach", COACH), ("coach", COACH2), ("rapporter", RAPPORTER)) \
                if n == 3 else ()
            team = add_team(session, code, TeamChanges(add_channels=(f"C0TEAM{n:04d}",),
                                                       add_roles=roles))
            ids[code] = team.id
            values = 0.08 + rng.normal(0, 0.01, 120)
            if n == 3:
                values[-3:] += 0.05
            session.add_all(KpiValue(team_id=team.id, week=LAST - 119 + i, kpi="sick_leave",
                                     value=float(v)) for i, v in enumerate(values))
        set_channel_members(session, "C0TEAM0003", [RAPPORTER])
    return ids


def _alerts(edge, standin, clock) -> CoachAlerts:
    settings = dataclasses.replace(edge.settings, admins=frozenset({ADMIN}))
    timed = Edge(settings, clock.now, clock=clock)
    timed.__dict__["engine"] = edge.engine
    return CoachAlerts(timed, Gateway(web_client(TOKEN, standin.base_url, connection_retries=0)))


def _dms(standin, user: str) -> list[dict]:
    return standin.posted("D" + user)


def test_each_coach_gets_one_alert_with_the_chart_and_buttons(edge, kpis, standin):
    clock = Clock(NOW)
    alerts = _alerts(edge, standin, clock)
    assert alerts.run()
    for coach in (COACH, COACH2):
        (dm,) = _dms(standin, coach)
        text = dm["blocks"][0]["text"]["text"]
        assert "*Team T03: Sick leave has risen* since" in text
        assert "happens by chance" in text and "Usually 8" in text
        (image,) = [b for b in dm["blocks"] if b["type"] == "image"]
        assert standin.uploads[image["slack_file"]["id"]].startswith(b"\x89PNG")
        assert {e["action_id"] for b in dm["blocks"] if b["type"] == "actions"
                for e in b["elements"]} == {"drift_seen", "drift_discuss", "drift_not_useful"}
        assert dm["metadata"]["event_type"] == EVENT_TYPE
    with edge.sessions.begin() as session:
        (alert,) = session.scalars(select(DriftAlert)).all()
        assert alert.team_id == kpis["T03"] and alert.metric == "sick_leave"
        assert LAST - 3 <= alert.start_week <= LAST - 1
    # Again after another import, and the next day: nothing twice.
    clock.now += dt.timedelta(days=1)
    alerts.when_due()
    assert alerts.run() == []
    assert len(_dms(standin, COACH)) == 1 and len(_dms(standin, COACH2)) == 1


def test_a_crash_after_sending_does_not_send_twice(edge, kpis, standin):
    clock = Clock(NOW)
    alerts = _alerts(edge, standin, clock)
    standin.fail_after_doing_next("chat.postMessage")  # the first DM goes out, answered 500
    alerts.run()
    clock.now += dt.timedelta(seconds=edge.settings.post_lease_seconds + 60)
    alerts.run()
    assert len(_dms(standin, COACH)) == 1 and len(_dms(standin, COACH2)) == 1
    with edge.sessions.begin() as session:
        assert {m.state for m in session.scalars(select(AlertMessage))} == {"sent"}


def test_discuss_leaves_a_neutral_note_for_the_rapporter(edge, kpis, standin):
    clock = Clock(NOW)
    _alerts(edge, standin, clock).run()
    with edge.sessions.begin() as session:
        mine = session.scalar(select(AlertMessage.id).where(AlertMessage.user_id == COACH))
        theirs = session.scalar(select(AlertMessage.id).where(AlertMessage.user_id == COACH2))
    slack = SlackApp(edge, standin, clock)
    try:
        slack.press("drift_discuss", str(mine), user=COACH, response="discuss")
        standin.wait_for(lambda: standin.responses.get("discuss"))
        (note,) = standin.posted("C0TEAM0003")
        assert note["text"].startswith(f"<@{COACH}> suggests the team looks at sick leave")
        assert f"<@{RAPPORTER}>" in note["text"]
        slack.press("drift_not_useful", str(theirs), user=COACH2, response="nu")
        standin.wait_for(lambda: standin.responses.get("nu"))
        slack.press("drift_seen", str(theirs), user=COACH, response="not-mine")
        standin.wait_for(lambda: standin.responses.get("not-mine"))
        assert "not sent to you" in standin.responses["not-mine"][0]["text"]
    finally:
        slack.bot.shutdown(wait=True)
    with edge.sessions.begin() as session:
        counts = coach_alerts.usefulness(session, NOW - dt.timedelta(days=30))
    assert counts == {"sick_leave": {"discuss": 1, "not_useful": 1}}


def test_weekly_digest_and_monthly_summary_go_out_once(edge, kpis, standin):
    clock = Clock(NOW)
    alerts = _alerts(edge, standin, clock)
    alerts.run()
    alerts.digests_when_due()  # Monday 09:00: the digest
    alerts.digests_when_due()
    # Messages to a user id go to the bot's DM with them.
    digests = [m for m in standin.posted(COACH) if "Open signals" in (m["text"] or "")]
    assert len(digests) == 1 and "Team T03: Sick leave has risen" in digests[0]["text"]
    clock.now = dt.datetime(2026, 12, 1, 8, 30, tzinfo=CPH)  # the first of the month
    alerts.digests_when_due()
    alerts.digests_when_due()
    (summary,) = standin.posted(ADMIN)
    assert "Coach alerts in the last month" in summary["text"]
    assert "Sick leave: 2 sent" in summary["text"]


def test_the_chart_draws(edge, kpis, standin):
    from commands.coach_alert import alert_reply
    from commands.dispatch import draw_here
    from commands.i18n import Translator
    from storage.models import Team

    _alerts(edge, standin, Clock(NOW)).detect()
    with edge.sessions.begin() as session:
        alert = session.scalars(select(DriftAlert)).one()
        team = session.get(Team, alert.team_id)
        values = {w: v for w, v in session.execute(select(KpiValue.week, KpiValue.value).where(
            KpiValue.team_id == team.id))}
        reply = alert_reply(alert, team, 1, values, Translator("da"), draw_here)
    assert reply.chart.png.startswith(b"\x89PNG") and "Sygefravær" in reply.text
    assert json.dumps(reply.items[0].buttons[1].action) == '"drift_discuss"'



def _percents(text: str) -> list[float]:
    return [float(n.replace(",", ".")) for n in re.findall(r"(\d+(?:[.,]\d+)?)\s*%", text)]


@pytest.mark.parametrize("language, words", [
    ("da", ("Vikarandel er højere end ventet ud fra sygefravær", "Ventet ud fra")),
    ("nb", ("Vikarandel er høyere enn ventet ut fra sykefravær", "Ventet ut fra")),
    ("en", ("Temp share is higher than expected from sick leave", "Expected from"))])
def test_an_alert_on_temps_beyond_sick_leave_says_so_with_the_numbers_it_compared(
        language, words):
    """Sick leave halved and temps fell less than that explains: the raw temp share is below
    its usual level, and the alert is about temps beyond sick leave. It says so, and shows the
    level it was compared with (expected from sick leave) below the current one; it used to
    say 'risen' beside a usual level above the current one."""
    import pandas as pd

    from commands.coach_alert import alert_reply
    from commands.dispatch import draw_here
    from commands.i18n import Translator
    from metrics import drift
    from storage.models import Team

    rng = np.random.default_rng(9)
    n_weeks, n_teams, first = 156, 40, weeks.parse("2024-W01")
    sick = 0.08 + rng.normal(0, 0.01, (n_weeks, n_teams))
    temps = 0.05 + 0.5 * (sick - 0.08) + rng.normal(0, 0.004, (n_weeks, n_teams))
    sick[100:, 1] -= 0.04
    temps[100:, 1] += 0.5 * -0.04 + 0.015

    def tidy(metric, values):
        return pd.DataFrame({"team": [f"T{t:02d}" for t in range(n_teams)] * n_weeks,
                             "metric": metric, "week": np.repeat(first + np.arange(n_weeks),
                                                                 n_teams),
                             "value": values.reshape(-1)})

    found = [a for a in drift.scan(pd.concat([tidy("sick_leave", sick),
                                              tidy("temp_share", temps)]))
             if a.team == "T01" and a.metric == "temp_share" and a.week >= first + 100][0]
    assert found.current < np.median(temps[:100, 1])  # below its usual level, raw
    alert = DriftAlert(team_id=1, metric="temp_share", week=found.week,
                       start_week=found.start_week, baseline=found.baseline,
                       current=found.current, spread=found.spread,
                       years_by_chance=found.years_by_chance)
    reply = alert_reply(alert, Team(code="VOJ-S"), 1, {}, Translator(language), draw_here)
    headline, levels, _rarity = reply.text.split("\n")
    assert words[0] in headline and words[1] in levels
    expected, current = _percents(levels)
    assert expected < current, reply.text
