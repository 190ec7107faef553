"""``/goal`` — "What matters to you?" goals for citizens, the team's alone:

- ``/goal`` opens a form: the citizen's reference, what matters in their words, the goal, who
  follows up, and the next reassessment date;
- ``/goal list [citizen]`` shows the team's open goals, privately, with buttons;
- ``/goal done ID`` closes a goal; ``/goal edit ID`` opens it in the form.

Goal text is shown only privately (ephemeral answers, forms, the App Home, DMs to members);
the data layer (``storage.goals``) checks membership and writes the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from dataclasses import dataclass

from commands.context import Context
from commands.i18n import N_, Translator
from commands.mrkdwn import escape
from commands.reply import Button, Form, FormField, Item, Reply, UsageError
from storage.models import Goal, Team

EXAMPLES = (
    ("/goal", N_("record a citizen's goal from \"What matters to you?\"")),
    ("/goal list B-10442", N_("the team's open goals (of one citizen), shown to you alone")),
    ("/goal done 12", N_("close goal 12; /goal edit 12 changes it")),
)
LIST_LIMIT = 20  # items with buttons in one answer (Slack allows 50 blocks)


@dataclass(frozen=True)
class GoalArgs:
    action: str  # new, list, done, edit
    citizen: str | None = None
    goal_id: int | None = None


def parse(text: str) -> GoalArgs:
    words = text.split()
    if not words:
        return GoalArgs("new")
    action = words[0].casefold()
    action = {"liste": "list", "færdig": "done", "ferdig": "done", "ret": "edit",
              "endre": "edit", "ny": "new", "add": "new"}.get(action, action)
    if action == "list" and len(words) <= 2:
        return GoalArgs("list", citizen=words[1] if len(words) == 2 else None)
    if action == "new" and len(words) == 1:
        return GoalArgs("new")
    if action in ("done", "edit") and len(words) == 2:
        return GoalArgs(action, goal_id=goal_number(words[1]))
    raise UsageError(N_("Write /goal, /goal list [citizen], /goal done ID or /goal edit ID."))


def goal_number(word: str) -> int:
    digits = word.lstrip("#")
    if not digits.isdigit():
        raise UsageError(N_("{word} is not a number; goals are numbered, e.g. /goal done 12."),
                         word=word)
    return int(digits)


def handle(args: GoalArgs, ctx: Context) -> Reply:
    from storage import goals

    team = member_team(ctx)
    with refusals(team):
        if args.action == "new":
            return Reply("", form=goal_form(ctx, team, None))
        if args.action == "list":
            return goal_list(ctx, team, goals.open_goals(ctx.session, ctx.request.user_id,
                                                          team.id, ctx.now, args.citizen),
                             args.citizen)
        if args.action == "edit":
            goal = goals.get_goal(ctx.session, ctx.request.user_id, args.goal_id, ctx.now)
            return Reply("", form=goal_form(ctx, team, goal))
        goal = goals.close_goal(ctx.session, ctx.request.user_id, args.goal_id, ctx.now)
        return Reply(ctx.tr("Goal #{id} for {citizen} is done.").format(
            id=goal.id, citizen=escape(goal.citizen_ref)))


# -- shared with /followup and the forms --------------------------------------------------------

def member_team(ctx: Context) -> Team:
    """The team of the channel, or the user's only team; goals are asked for in the team's
    channel (or a DM with the bot by a member of one team)."""
    if ctx.team is None:
        raise UsageError(N_("Goals and follow-ups belong to a team: ask in your team's channel."))
    return ctx.team


@contextlib.contextmanager
def refusals(team: Team):
    """Turn the data layer's refusals into clear, translated answers."""
    from storage.goals import AccessDenied, GoalInputError, NotFound

    try:
        yield
    except AccessDenied:
        raise UsageError(N_("Only members of team {team}'s channel can see or change its "
                            "goals and follow-ups."), team=team.code) from None
    except NotFound as missing:
        raise UsageError(N_("Your team has no goal or follow-up #{id}."),
                         id=missing.args[0]) from None
    except GoalInputError as error:
        raise UsageError(error.message, **error.params) from None


def team_today(ctx: Context, team: Team) -> dt.date:
    if team.timezone:
        return ctx.now.astimezone(zoneinfo.ZoneInfo(team.timezone)).date()
    return ctx.now.date()


def goal_form(ctx: Context, team: Team, goal: Goal | None) -> Form:
    tr = ctx.tr
    return Form(
        kind="goal",
        title=tr("New goal") if goal is None else tr("Goal #{id}").format(id=goal.id),
        submit=tr("Save"),
        intro=tr("Only team {team}'s members see this. Never write CPR numbers or "
                 "fødselsnumre; avoid names.").format(team=team.code),
        state=f"lang={ctx.tr.language};team={team.id};"
              f"channel={ctx.request.channel_id};goal={goal.id if goal else ''}",
        fields=(
            FormField("citizen_ref", tr("Citizen"), "text",
                      tr("The citizen's reference as in the visit lists, e.g. B-10442"),
                      goal.citizen_ref if goal else None),
            FormField("what_matters", tr("What matters to you?"), "long_text",
                      tr("In the citizen's own words"), goal.what_matters if goal else None),
            FormField("goal", tr("Goal"), "long_text", tr("What the team works towards"),
                      goal.goal if goal else None),
            FormField("follow_up_by", tr("Follows up"), "user", "",
                      goal.follow_up_by if goal else ctx.request.user_id),
            FormField("reassess_on", tr("Next reassessment"), "date",
                      tr("The team reassesses the goal together"),
                      goal.reassess_on.isoformat() if goal and goal.reassess_on else None,
                      optional=True),
        ))


def goal_list(ctx: Context, team: Team, found: list[Goal], citizen: str | None) -> Reply:
    tr = ctx.tr
    if not found:
        return Reply(tr("Team {team} has no open goals{of}.").format(
            team=team.code, of=tr(" for {citizen}").format(citizen=escape(citizen))
            if citizen else ""))
    items = tuple(Item(goal_line(goal, tr), (
        Button(tr("Edit"), "goal_edit", str(goal.id)),
        Button(tr("Add follow-up"), "goal_followup", str(goal.id)),
        Button(tr("Done"), "goal_done", str(goal.id), "primary"),
    )) for goal in found[:LIST_LIMIT])
    more = len(found) - LIST_LIMIT
    text = tr("Open goals of team {team}: {count}").format(team=team.code, count=len(found))
    if more > 0:
        text += "\n" + tr("The first {shown} are shown; name a citizen to see theirs.").format(
            shown=LIST_LIMIT)
    return Reply(text, items=items)


def goal_line(goal: Goal, tr: Translator) -> str:
    line = (f"*#{goal.id} {escape(goal.citizen_ref)}*: {escape(goal.goal)}\n"
            + tr("What matters: {text}").format(text=escape(goal.what_matters)) + "\n"
            + tr("Follows up: {user}").format(user=f"<@{goal.follow_up_by}>"))
    if goal.reassess_on:
        line += " · " + tr("reassessment {date}").format(date=goal.reassess_on.isoformat())
    return line
