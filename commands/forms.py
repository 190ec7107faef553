"""The answers to forms (``/goal``'s and a goal's follow-up form) and the buttons of goal and
follow-up lists and reminders: from the values as typed to a Reply, or to errors per field
that the form shows beside the fields."""

from __future__ import annotations

import datetime as dt

from commands.context import Context
from commands.goal import goal_form, refusals, team_today
from commands.i18n import N_, Translator
from commands.mrkdwn import escape
from commands.reply import Reply, UsageError
from storage.models import Team


class FormErrors(Exception):
    """Field name -> translated message, for the form to show."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def form_state(state: str) -> dict[str, str]:
    """``team=3;channel=C1;goal=12`` as a dict."""
    return dict(part.split("=", 1) for part in state.split(";") if "=" in part)


def check(kind: str, values: dict[str, str | None], tr: Translator) -> dict[str, str]:
    """The errors in a form's answers that need no database, by field (none: empty), for the
    form to show at once, before Slack's 3 seconds are up; saving checks the rest."""
    from storage import goals

    try:
        _parse(kind, values).cleaned()
    except goals.GoalInputError as error:
        return {error.field: tr(error.message).format(**error.params)}
    return {}


def _parse(kind: str, values: dict[str, str | None]):
    """A form's answers as the storage layer's input (a ``GoalInput`` or ``FollowUpInput``), not
    yet checked: ``cleaned()`` checks them."""
    from storage import goals

    if kind == "goal":
        return goals.GoalInput(values.get("citizen_ref") or "", values.get("what_matters") or "",
                               values.get("goal") or "", values.get("follow_up_by") or "",
                               _date(values.get("reassess_on")))
    return goals.FollowUpInput(values.get("text") or "", values.get("responsible") or "",
                               _date(values.get("due_on")))


def submit(kind: str, state: dict[str, str], values: dict[str, str | None],
           ctx: Context) -> Reply:
    from storage import goals

    team = ctx.session.get(Team, int(state["team"]))
    if team is None:
        raise UsageError(N_("That team no longer exists."))
    with refusals(team):
        try:
            with ctx.session.begin_nested():  # a refused form leaves nothing half done
                return _save(kind, state, values, team, ctx)
        except goals.GoalInputError as error:
            raise FormErrors({error.field: ctx.tr(error.message).format(**error.params)}) \
                from None


def _save(kind: str, state: dict[str, str], values: dict[str, str | None], team: Team,
          ctx: Context) -> Reply:
    from storage import goals

    tr, user = ctx.tr, ctx.request.user_id
    data = _parse(kind, values)
    if kind == "goal":
        if state.get("goal"):
            goal = goals.edit_goal(ctx.session, user, int(state["goal"]), data, ctx.now)
            return Reply(tr("Goal #{id} is saved.").format(id=goal.id))
        goal = goals.create_goal(ctx.session, user, team.id, data, ctx.now)
        return Reply(tr("Goal #{id} is saved. /goal list shows the team's goals.")
                     .format(id=goal.id))
    data = data.cleaned()
    added = goals.add_follow_up(ctx.session, user, team.id, data.text, data.responsible,
                                data.due_on, ctx.now,
                                goal_id=int(state["goal"]) if state.get("goal") else None)
    return Reply(tr("Follow-up #{id} for <@{user}>, due {date}.").format(
        id=added.id, user=added.responsible, date=added.due_on.isoformat()))


def press(action: str, value: str, ctx: Context) -> Reply:
    """A button: done or snooze a follow-up; edit, close or add a follow-up to a goal."""
    from commands.followup import follow_up_form
    from storage import goals

    tr, user = ctx.tr, ctx.request.user_id
    number = int(value)
    if action.startswith("drift_"):
        return _alert_answer(action, number, ctx)
    try:
        if action.startswith("followup_"):
            follow_up = goals.get_follow_up(ctx.session, user, number, ctx.now)
            team = ctx.session.get(Team, follow_up.team_id)
            today = team_today(ctx, team)
            if action == "followup_done":
                goals.mark_done(ctx.session, user, number, ctx.now, today)
                return Reply(tr("Follow-up #{id} is done.").format(id=number))
            days = {"followup_snooze_day": 1, "followup_snooze_week": 7}[action]
            later = goals.snooze(ctx.session, user, number, days, ctx.now, today)
            return Reply(tr("Follow-up #{id} is now due {date}.").format(
                id=number, date=later.due_on.isoformat()))
        goal = goals.get_goal(ctx.session, user, number, ctx.now)
        team = ctx.session.get(Team, goal.team_id)
        if action == "goal_done":
            goals.close_goal(ctx.session, user, number, ctx.now)
            return Reply(tr("Goal #{id} for {citizen} is done.").format(
                id=number, citizen=escape(goal.citizen_ref)))
        if action == "goal_edit":
            return Reply("", form=goal_form(ctx, team, goal))
        if action == "goal_followup":
            return Reply("", form=follow_up_form(ctx, team, goal))
    except (goals.AccessDenied, goals.NotFound):
        raise UsageError(N_("Your team has no goal or follow-up #{id}."), id=number) from None
    raise UsageError(N_("I don't know that button."))


def _alert_answer(action: str, message_id: int, ctx: Context) -> Reply:
    """A coach's answer to an alert: recorded; "discuss" also leaves a note for the team."""
    from commands.coach_alert import discuss_note
    from storage.coach_alerts import answer

    feedback = {"drift_seen": "seen", "drift_discuss": "discuss",
                "drift_not_useful": "not_useful"}[action]
    answered = answer(ctx.session, message_id, ctx.request.user_id, feedback, ctx.now)
    if answered is None:
        raise UsageError(N_("This alert was not sent to you."))
    _message, alert = answered
    tr = ctx.tr
    if feedback == "discuss":
        team = ctx.session.get(Team, alert.team_id)
        if not team.channels:
            raise UsageError(N_("Team {team} has no channel to leave the note in."),
                             team=team.code)
        channel = team.channels[0].channel_id
        team_tr = Translator(team.language) if team.language else tr
        return Reply(tr("Thank you: a note for the team is in <#{channel}>.").format(
            channel=channel), channel_notes=((channel, discuss_note(
                alert, team, ctx.request.user_id, team_tr)),))
    if feedback == "not_useful":
        return Reply(tr("Thank you: noted as not useful; the admins see how useful the alerts "
                        "are each month."))
    return Reply(tr("Thank you: noted as seen."))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None
