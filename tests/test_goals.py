"""Goals and follow-ups: the permission matrix and the data rules (storage.goals), and the
whole path through the real Slack app with signed requests and the stand-in: forms, buttons,
reminders with time travel, the App Home, subject access and erasure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
import zoneinfo

import pytest
from sqlalchemy import inspect, select, text

from bot.app import create_app
from bot.edge import Edge
from bot.gateway import Gateway, web_client
from bot.reminders import Reminders, retention
from storage import goals
from storage.models import AuditEntry, FollowUp, Goal
from storage.teams import TeamChanges, add_team, set_channel_members
from tests.conftest import SAMPLES, Clock
from tests.slack_standin import TOKEN

CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CPH)
SECRET = "standin-signing-secret"
MEMBER, MEMBER2, COACH, OTHER, ADMIN, BACK_OFFICE = (
    "U0MEMBER01", "U0MEMBER02", "U0COACH001", "U0OTHER001", "U0ADMIN001", "U0BACKOFF1")
CHANNEL_A, CHANNEL_B = "C0TEAMA001", "C0TEAMB001"


@pytest.fixture
def teams(edge):
    with edge.sessions.begin() as session:
        a = add_team(session, "HAD-A", TeamChanges(add_channels=(CHANNEL_A,),
                                                   add_roles=(("coach", COACH),)))
        b = add_team(session, "HAD-B", TeamChanges(add_channels=(CHANNEL_B,)))
        set_channel_members(session, CHANNEL_A, [MEMBER, MEMBER2, COACH])
        set_channel_members(session, CHANNEL_B, [OTHER])
        return a.id, b.id


def _goal(ref: str = "B-10442", **changes) -> goals.GoalInput:
    values = dict(citizen_ref=ref, what_matters="At gå til bageren selv igen",
                  goal="Går 200 m med rollator inden jul", follow_up_by=MEMBER,
                  reassess_on=dt.date(2026, 12, 1))
    return goals.GoalInput(**(values | changes))


# -- the permission matrix --------------------------------------------------------------------

ACTIONS = {
    "create goal": lambda s, u, t, g, f: goals.create_goal(s, u, t, _goal(), NOW),
    "list goals": lambda s, u, t, g, f: goals.open_goals(s, u, t, NOW),
    "read goal": lambda s, u, t, g, f: goals.get_goal(s, u, g, NOW),
    "edit goal": lambda s, u, t, g, f: goals.edit_goal(s, u, g, _goal(goal="Ny"), NOW),
    "close goal": lambda s, u, t, g, f: goals.close_goal(s, u, g, NOW),
    "add follow-up": lambda s, u, t, g, f: goals.add_follow_up(
        s, u, t, "Ring til datteren", MEMBER, dt.date(2026, 11, 30), NOW),
    "list follow-ups": lambda s, u, t, g, f: goals.open_follow_ups(s, u, t, NOW),
    "read follow-up": lambda s, u, t, g, f: goals.get_follow_up(s, u, f, NOW),
    "follow-up done": lambda s, u, t, g, f: goals.mark_done(s, u, f, NOW, NOW.date()),
    "snooze follow-up": lambda s, u, t, g, f: goals.snooze(s, u, f, 7, NOW, NOW.date()),
}
ROLES = {"member": MEMBER, "coach": COACH, "other team's member": OTHER, "admin": ADMIN,
         "back office": BACK_OFFICE}


@pytest.mark.parametrize("team_side", ["own team", "other team"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_only_the_teams_members_may_see_or_change_its_goals(edge, teams, action, role,
                                                             team_side):
    team_a, team_b = teams
    # Each team has a goal and a follow-up of its own, made by one of its members.
    with edge.sessions.begin() as session:
        set_channel_members(session, CHANNEL_B, [OTHER, MEMBER2 + "B"])
        objects = {}
        for team_id, owner in ((team_a, MEMBER2), (team_b, OTHER)):
            goal = goals.create_goal(session, owner, team_id, _goal(follow_up_by=owner), NOW)
            follow_up = goals.add_follow_up(session, owner, team_id, "Tjek medicin", owner,
                                            dt.date(2026, 11, 30), NOW)
            objects[team_id] = (goal.id, follow_up.id)
    # The role's own team is A (the other team's member belongs to B).
    home = team_b if role == "other team's member" else team_a
    target = home if team_side == "own team" else (team_a if home == team_b else team_b)
    allowed = role in ("member", "other team's member") and team_side == "own team"
    goal_id, follow_up_id = objects[target]
    with edge.sessions.begin() as session:
        audits_before = session.scalar(select(text("count(*)")).select_from(AuditEntry))
        try:
            ACTIONS[action](session, ROLES[role], target, goal_id, follow_up_id)
            outcome = "allowed"
        except (goals.AccessDenied, goals.NotFound):
            outcome = "refused"
        audits_after = session.scalar(select(text("count(*)")).select_from(AuditEntry))
    assert outcome == ("allowed" if allowed else "refused"), (action, role, team_side)
    assert (audits_after > audits_before) == allowed


def test_free_text_that_looks_like_a_national_id_is_refused_and_never_stored(edge, teams):
    refused = ["010190-1234", "0101901234", "010190 1234", "280290-1233",  # mod-11 fails
               "070761-4285",  # a valid CPR number
               "01019012345", "010190 12345", "41019012345",  # fødselsnummer, D-number
               "Borger 311299-1234 har ondt"]
    accepted = ["+45 22334455", "tlf. 22 33 44 55", "dato 01.02.2026", "B-10442",
                "12 34 56 78", "kl. 0800-1600"]
    team_a, _ = teams
    for value in refused:
        with edge.sessions.begin() as session:
            with pytest.raises(goals.GoalInputError) as error:
                goals.create_goal(session, MEMBER, team_a, _goal(what_matters=value), NOW)
            assert error.value.field == "what_matters"
    for value in accepted:
        with edge.sessions.begin() as session:
            goals.create_goal(session, MEMBER, team_a, _goal(what_matters=value), NOW)
    with edge.sessions.begin() as session:
        stored = session.scalars(select(Goal.what_matters)).all()
    assert sorted(stored) == sorted(accepted)
    with edge.sessions.begin() as session, pytest.raises(goals.GoalInputError):
        goals.create_goal(session, MEMBER, team_a, _goal(ref="0101901234"), NOW)


def test_goals_keep_their_history_and_the_reassessment_is_a_follow_up(edge, teams):
    team_a, _ = teams
    with edge.sessions.begin() as session:
        goal_id = goals.create_goal(session, MEMBER, team_a, _goal(), NOW).id
    later = NOW + dt.timedelta(days=2)
    with edge.sessions.begin() as session:
        goals.edit_goal(session, MEMBER2, goal_id,
                        _goal(goal="Går 500 m", reassess_on=dt.date(2026, 12, 8)), later)
    with edge.sessions.begin() as session:
        goal = session.get(Goal, goal_id)
        assert [(c.changed_by, c.field, c.old_value, c.new_value) for c in goal.changes] == [
            (MEMBER2, "goal", "Går 200 m med rollator inden jul", "Går 500 m"),
            (MEMBER2, "reassess_on", "2026-12-01", "2026-12-08")]
        (reassessment,) = session.scalars(select(FollowUp)).all()
        assert (reassessment.kind, reassessment.due_on, reassessment.responsible) == (
            "reassessment", dt.date(2026, 12, 8), MEMBER)


# -- through the Slack app --------------------------------------------------------------------

class SlackApp:
    """The real bolt app in-process, fed signed requests as Slack sends them."""

    def __init__(self, edge: Edge, standin, clock: Clock, *, requests_checked: bool = False):
        settings = dataclasses.replace(edge.settings, slack_signing_secret=SECRET,
                                       slack_bot_token=TOKEN,
                                       slack_api_base_url=standin.base_url,
                                       admins=frozenset({ADMIN}))
        self.edge = Edge(settings, clock.now, clock=clock)
        self.edge.__dict__["engine"] = edge.engine
        self.gateway = Gateway(web_client(TOKEN, standin.base_url))
        self.app, self.bot = create_app(self.edge, self.gateway,
                                        requests_checked=requests_checked)
        self.standin = standin

    def _send(self, body: str, content_type: str):
        from slack_bolt.request import BoltRequest

        stamp = str(int(time.time()))
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(),
                                     hashlib.sha256).hexdigest()
        return self.app.dispatch(BoltRequest(body=body, headers={
            "content-type": [content_type], "x-slack-request-timestamp": [stamp],
            "x-slack-signature": [signature]}))

    def command(self, name: str, text_: str, user: str = MEMBER, channel: str = CHANNEL_A):
        body = urllib.parse.urlencode({
            "command": name, "text": text_, "user_id": user, "channel_id": channel,
            "team_id": "T0STANDIN", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "response_url": self.standin.response_url("cmd")})
        return self._send(body, "application/x-www-form-urlencoded")

    def interaction(self, payload: dict):
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._send(body, "application/x-www-form-urlencoded")

    def event(self, event: dict):
        return self._send(json.dumps({"type": "event_callback", "team_id": "T0STANDIN",
                                      "event": event}), "application/json")

    def submit_form(self, view: dict, values: dict[str, dict], user: str = MEMBER):
        state = {name: {name: value} for name, value in values.items()}
        return self.interaction({"type": "view_submission", "user": {"id": user},
                                 "team": {"id": "T0STANDIN"}, "trigger_id": "1.2.3",
                                 "view": view | {"state": {"values": state}}})

    def press(self, action_id: str, value: str, user: str = MEMBER, *, home: bool = False,
              response: str = "button"):
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0STANDIN"},
                   "trigger_id": "1.2.4", "actions": [{"action_id": action_id, "value": value,
                                                       "type": "button"}]}
        if home:
            payload["view"] = {"type": "home"}
        else:
            payload["response_url"] = self.standin.response_url(response)
            payload["channel"] = {"id": CHANNEL_A}
        return self.interaction(payload)


@pytest.fixture
def slack(edge, teams, standin):
    clock = Clock(NOW)
    made = SlackApp(edge, standin, clock)
    made.clock = clock
    yield made
    made.bot.shutdown(wait=True)


def _goal_form_values(what_matters: str = "At gå til bageren selv igen") -> dict:
    return {"citizen_ref": {"type": "plain_text_input", "value": "B-10442"},
            "what_matters": {"type": "plain_text_input", "value": what_matters},
            "goal": {"type": "plain_text_input", "value": "Går 200 m <!channel> inden jul"},
            "follow_up_by": {"type": "users_select", "selected_user": MEMBER2},
            "reassess_on": {"type": "datepicker", "selected_date": "2026-11-30"}}


def test_a_goal_is_recorded_through_the_form_and_shown_only_privately(slack, standin):
    assert slack.command("/goal", "").status == 200
    (opened,) = standin.wait_for(lambda: standin.of("views.open"))
    view = json.loads(opened.args["view"]) if isinstance(opened.args["view"], str) \
        else opened.args["view"]
    assert view["type"] == "modal" and [b["block_id"] for b in view["blocks"][1:]] == [
        "citizen_ref", "what_matters", "goal", "follow_up_by", "reassess_on"]
    assert "Never write CPR numbers" in view["blocks"][0]["elements"][0]["text"]

    # A CPR number in the text: the form says so beside the field, and nothing is stored.
    refused = slack.submit_form(view, _goal_form_values("Hun har cpr 010190-1234"))
    assert refused.status == 200
    answer = json.loads(refused.body)
    assert answer["response_action"] == "errors" and "CPR" in answer["errors"]["what_matters"]
    with slack.edge.sessions.begin() as session:
        assert session.scalars(select(Goal)).all() == []

    saved = slack.submit_form(view, _goal_form_values())
    assert saved.status == 200 and not saved.body
    (confirmed,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert confirmed.args["user"] == MEMBER and "Goal #1 is saved" in confirmed.args["text"]

    slack.command("/goal", "list")
    listed = standin.wait_for(lambda: standin.of("chat.postEphemeral")[1:])[0]
    shown = json.dumps(listed.args["blocks"])
    assert "B-10442" in shown and "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert [e["action_id"] for b in listed.args["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == ["goal_edit", "goal_followup", "goal_done"]
    # Nothing about the goal was ever posted where others could see it.
    assert not standin.of("chat.postMessage") and not standin.messages


def test_others_cannot_list_the_teams_goals(slack, standin):
    slack.command("/goal", "list", user=COACH)
    (refused,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert "Only members of team HAD-A's channel" in refused.args["text"]


def test_follow_ups_buttons_and_reminders_with_time_travel(slack, standin):
    slack.command("/followup", f"add B-10442 <@{MEMBER2}|mette> 25.11 ring til datteren")
    (added,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert f"Follow-up #1 for <@{MEMBER2}>, due 25 November 2026." in added.args["text"]
    reminders = Reminders(slack.edge, slack.gateway)
    direct = lambda: [c for c in standin.of("chat.postMessage") if c.args["channel"] == MEMBER2]  # noqa: E731

    slack.clock.now = dt.datetime(2026, 11, 25, 6, 59, tzinfo=CPH)
    assert reminders.run_due() == []  # the due day, before the team's morning
    slack.clock.now = dt.datetime(2026, 11, 25, 7, 0, tzinfo=CPH)
    assert reminders.run_due() == [1]
    (dm,) = direct()
    assert "ring til datteren" in json.dumps(dm.args["blocks"])
    assert {e["action_id"] for b in dm.args["blocks"] if b["type"] == "actions"
            for e in b["elements"]} == {"followup_done", "followup_snooze_day",
                                        "followup_snooze_week"}
    for days in range(1, 7):  # overdue: not every day ...
        slack.clock.now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=CPH) + dt.timedelta(days=days)
        assert reminders.run_due() == []
    slack.clock.now = dt.datetime(2026, 12, 2, 7, 30, tzinfo=CPH)
    assert reminders.run_due() == [1]  # ... but once a week
    assert len(direct()) == 2

    # Snoozed a week by the DM's button: due again on 9 December, reminded then.
    slack.press("followup_snooze_week", "1", user=MEMBER2)
    standin.wait_for(lambda: standin.responses.get("button"))
    assert "now due 2026-12-09" in standin.responses["button"][0]["text"]
    slack.clock.now = dt.datetime(2026, 12, 8, 12, 0, tzinfo=CPH)
    assert reminders.run_due() == []
    slack.clock.now = dt.datetime(2026, 12, 9, 7, 0, tzinfo=CPH)
    assert reminders.run_due() == [1]
    slack.press("followup_done", "1", user=MEMBER2, response="done")
    standin.wait_for(lambda: standin.responses.get("done"))
    assert "Follow-up #1 is done." in standin.responses["done"][0]["text"]
    slack.clock.now = dt.datetime(2026, 12, 16, 7, 0, tzinfo=CPH)
    assert reminders.run_due() == []
    # A member of another team cannot press someone else's button.
    slack.press("followup_done", "1", user=OTHER, response="other")
    standin.wait_for(lambda: standin.responses.get("other"))
    assert "has no goal or follow-up #1" in standin.responses["other"][0]["text"]


def test_the_app_home_shows_due_follow_ups_and_the_teams_overdue_count(slack, standin, cli):
    with slack.edge.sessions.begin() as session:
        goals.add_follow_up(session, MEMBER, goals_team(session), "Bestil hjælpemiddel",
                            MEMBER, dt.date(2026, 11, 20), NOW)
        goals.add_follow_up(session, MEMBER2, goals_team(session), "Tal med lægen",
                            MEMBER2, dt.date(2026, 11, 26), NOW)
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D0HOME0001",
                 "tab": "home"})
    (published,) = standin.wait_for(lambda: standin.of("views.publish"))
    view = published.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert view["type"] == "home" and published.args["user_id"] == MEMBER
    assert "Team HAD-A: 1 overdue follow-ups; yours due within a week: 1." in shown
    assert "Bestil hjælpemiddel" in shown and "Tal med lægen" not in shown


def goals_team(session) -> int:
    from storage.teams import get_team

    return get_team(session, "HAD-A").id


def test_the_weekly_dashboard_counts_goals_and_follow_ups(cli, edge, teams):
    from commands.context import Request
    from commands.dispatch import answer

    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in
                    ("staff", "hours", "visits", "norms")))
    cli("team", "edit", "VOJ-N", "--add-channel", "C0VOJN0001")
    with edge.sessions.begin() as session:
        set_channel_members(session, "C0VOJN0001", [MEMBER])
        team_id = session.scalar(text("SELECT id FROM teams WHERE code = 'VOJ-N'"))
        monday = dt.datetime(2025, 12, 8, 10, tzinfo=CPH)  # in 2025-W50
        goals.create_goal(session, MEMBER, team_id, _goal(), monday)
        on_time = goals.add_follow_up(session, MEMBER, team_id, "a", MEMBER,
                                      dt.date(2025, 12, 10), monday)
        goals.mark_done(session, MEMBER, on_time.id, monday, dt.date(2025, 12, 9))
        goals.add_follow_up(session, MEMBER, team_id, "b", MEMBER, dt.date(2025, 12, 12), monday)
        goals.add_follow_up(session, MEMBER, team_id, "c", MEMBER, dt.date(2025, 12, 16), monday)
    with edge.sessions.begin() as session:
        reply = answer(Request("/dashboard", "VOJ-N 2025-W50", "U0X", "C0X"), session,
                       now=edge.now, default_language="en", admins=frozenset())
    # The goal's reassessment (1 Dec 2026) is not due yet; b is overdue, c due next week.
    assert ("Goals set this week: 1 · follow-ups done on time: 1 · overdue: 1 · due next "
            "week: 1") in reply.text
    assert "Går 200 m" not in reply.text and "B-10442" not in reply.text


# -- subject access, erasure and retention ----------------------------------------------------

def test_a_citizen_is_exported_and_then_erased_everywhere(cli, edge, teams, tmp_path):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in
                    ("staff", "hours", "visits", "norms")))
    with edge.sessions.begin() as session:
        ref = session.scalar(text("SELECT citizen_ref FROM visits ORDER BY visit_id LIMIT 1"))
        visits = session.scalar(text("SELECT count(*) FROM visits WHERE citizen_ref = :r"),
                                {"r": ref})
    team_a, _ = teams
    with edge.sessions.begin() as session:
        goal = goals.create_goal(session, MEMBER, team_a, _goal(ref=ref), NOW)
        goals.add_follow_up(session, MEMBER, team_a, "Tjek", MEMBER, dt.date(2026, 12, 1), NOW,
                            citizen_ref=ref)
        other = goals.create_goal(session, MEMBER, team_a, _goal(ref="B-99999"), NOW)
        goals.edit_goal(session, MEMBER, other.id, _goal(ref="B-99998"), NOW)
        goals.edit_goal(session, MEMBER, goal.id, _goal(ref=ref, goal="Mere"), NOW)
    cli("citizen", "export", ref, "--out", tmp_path / "export.json")
    exported = json.loads((tmp_path / "export.json").read_text("utf-8"))
    assert len(exported["goals"]) == 1 and exported["goals"][0]["history"]
    assert len(exported["follow_ups"]) == 2 and len(exported["visits"]) == visits

    result = cli("citizen", "erase", ref, "--yes")
    assert f"Erased {ref}:" in result.output and f"{visits} visits" in result.output
    # Nothing about the citizen remains in any text column of any table.
    with edge.sessions.begin() as session:
        inspector = inspect(session.connection())
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                if "CHAR" in str(column["type"]).upper() or "TEXT" in str(column["type"]).upper():
                    found = session.execute(text(
                        f"SELECT count(*) FROM {table} WHERE {column['name']} LIKE :ref"),
                        {"ref": f"%{ref}%"}).scalar()
                    assert found == 0, (table, column["name"])
        assert session.get(Goal, other.id) is not None  # other citizens stay


def test_retention_deletes_closed_goals_and_old_audit_entries(edge, teams):
    team_a, _ = teams
    with edge.sessions.begin() as session:
        old = goals.create_goal(session, MEMBER, team_a, _goal(), NOW)
        goals.close_goal(session, MEMBER, old.id, NOW)
        goals.create_goal(session, MEMBER, team_a, _goal(ref="B-2"), NOW)
    clock = Clock(NOW + dt.timedelta(days=200))
    timed = Edge(edge.settings, clock.now, clock=clock)
    timed.__dict__["engine"] = edge.engine
    assert retention(timed, months=12) == (0, 0, 4)  # the audit entries are past six months
    clock.now = NOW + dt.timedelta(days=370)
    assert retention(timed, months=12) == (1, 1, 0)  # the closed goal and its reassessment
    with edge.sessions.begin() as session:
        assert [g.citizen_ref for g in session.scalars(select(Goal))] == ["B-2"]


def test_a_goal_is_edited_and_gets_a_follow_up_through_its_buttons(slack, standin):
    with slack.edge.sessions.begin() as session:
        goal_id = goals.create_goal(session, MEMBER, goals_team(session), _goal(), NOW).id
    slack.press("goal_edit", str(goal_id))
    (opened,) = standin.wait_for(lambda: standin.of("views.open"))
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    initial = {b["block_id"]: b["element"].get("initial_value") or
               b["element"].get("initial_user") or b["element"].get("initial_date")
               for b in view["blocks"] if b["type"] == "input"}
    assert initial["goal"] == "Går 200 m med rollator inden jul"
    assert initial["reassess_on"] == "2026-12-01"
    values = _goal_form_values() | {"goal": {"type": "plain_text_input", "value": "Går 300 m"}}
    assert slack.submit_form(view, values).status == 200
    standin.wait_for(lambda: standin.of("chat.postEphemeral"))

    slack.press("goal_followup", str(goal_id))
    opened = standin.wait_for(lambda: standin.of("views.open")[1:])[0]
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "text", "responsible", "due_on"]
    slack.submit_form(view, {"text": {"type": "plain_text_input", "value": "Aftal gåtur"},
                             "responsible": {"type": "users_select", "selected_user": MEMBER},
                             "due_on": {"type": "datepicker", "selected_date": "2026-11-27"}})
    confirmed = standin.wait_for(lambda: standin.of("chat.postEphemeral")[1:])[0]
    assert "due 2026-11-27" in confirmed.args["text"]
    with slack.edge.sessions.begin() as session:
        goal = session.get(Goal, goal_id)
        assert goal.goal == "Går 300 m" and [c.field for c in goal.changes] == [
            "goal", "follow_up_by", "reassess_on"]
        follow_ups = session.scalars(select(FollowUp).where(FollowUp.goal_id == goal_id)).all()
        assert sorted(f.kind for f in follow_ups) == ["reassessment", "task"]
        (task,) = [f for f in follow_ups if f.kind == "task"]
        assert task.citizen_ref == "B-10442" and task.due_on == dt.date(2026, 11, 27)
