"""``/followup`` — what a team member agreed to follow up, by when:

- ``/followup add [B-10442] @user 1.12 what to do`` (or the button on a goal);
- ``/followup list``: the user's own and the team's open follow-ups, privately, with buttons to
  mark one done or snooze it a day or a week;
- ``/followup done ID`` and ``/followup snooze ID 1d|1w`` do the same as the buttons.

The responsible member is reminded by DM on the due day (``bot/reminders.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.context import Context
from commands.due_dates import DateError, PastDate, date_words, parse_date
from commands.goal import LIST_LIMIT, goal_number, member_team, refusals, team_today
from commands.i18n import N_, Translator
from commands.mrkdwn import escape
from commands.reply import Button, Form, FormField, Item, Reply, UsageError
from storage.models import FollowUp, Goal, Team

EXAMPLES = (
    ("/followup add B-10442 @Mette 1.12 call the daughter about the walker",
     N_("a follow-up for Mette, due 1 December")),
    ("/followup list", N_("your and the team's open follow-ups, with done and snooze buttons")),
)
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
SNOOZES = {"1d": 1, "1w": 7, "1u": 7, "1dag": 1, "1uge": 7, "1uke": 7}


@dataclass(frozen=True)
class FollowUpArgs:
    action: str  # add, list, done, snooze
    citizen: str | None = None
    user: str | None = None
    due: str | None = None
    text: str = ""
    follow_up_id: int | None = None
    days: int = 0


def parse(text: str) -> FollowUpArgs:
    words = text.split()
    action = words[0].casefold() if words else "list"
    action = {"ny": "add", "liste": "list", "færdig": "done", "ferdig": "done",
              "udsæt": "snooze", "utsett": "snooze"}.get(action, action)
    rest = words[1:]
    if action == "list" and not rest:
        return FollowUpArgs("list")
    if action == "done" and len(rest) == 1:
        return FollowUpArgs("done", follow_up_id=goal_number(rest[0]))
    if action == "snooze" and len(rest) == 2 and rest[1].casefold() in SNOOZES:
        return FollowUpArgs("snooze", follow_up_id=goal_number(rest[0]),
                            days=SNOOZES[rest[1].casefold()])
    if action == "add":
        citizen = None
        if rest and not _USER.match(rest[0]):
            citizen, rest = rest[0], rest[1:]
        if len(rest) >= 3 and _USER.match(rest[0]):
            # a date may be several words ("i morgen", "på fredag"); the text follows it
            size = min(date_words(rest[1:]), len(rest) - 2) or 1
            return FollowUpArgs("add", citizen=citizen, user=_USER.match(rest[0]).group(1),
                                due=" ".join(rest[1:1 + size]),
                                text=" ".join(rest[1 + size:]))
    raise UsageError(N_("Write /followup add [citizen] @person date what, /followup list, "
                        "/followup done ID or /followup snooze ID 1d|1w."))


def handle(args: FollowUpArgs, ctx: Context) -> Reply:
    from storage import goals

    team = member_team(ctx)
    today = team_today(ctx, team)
    user = ctx.request.user_id
    with refusals(team):
        if args.action == "list":
            return follow_up_list(ctx, team, goals.open_follow_ups(ctx.session, user, team.id,
                                                                   ctx.now))
        if args.action == "done":
            done = goals.mark_done(ctx.session, user, args.follow_up_id, ctx.now, today)
            return Reply(ctx.tr("Follow-up #{id} is done.").format(id=done.id))
        if args.action == "snooze":
            later = goals.snooze(ctx.session, user, args.follow_up_id, args.days, ctx.now, today)
            return Reply(ctx.tr("Follow-up #{id} is now due {date}.").format(
                id=later.id, date=later.due_on.isoformat()))
        try:
            due = parse_date(args.due, today)
        except PastDate as past:
            date = past.args[1]
            raise UsageError(N_("{text} was {days} days ago ({date}). Write a later date, or "
                                "the year if you mean next year: {next}."),
                             text=args.due, days=(today - date).days, date=ctx.tr.date(date),
                             next=f"{date.day}.{date.month}.{date.year + 1}") from None
        except DateError:
            raise UsageError(N_("{text} is not a date; write e.g. 1.12, 2026-12-01 or "
                                "tomorrow."), text=args.due) from None
        added = goals.add_follow_up(ctx.session, user, team.id, args.text, args.user, due,
                                    ctx.now, citizen_ref=args.citizen)
        text = ctx.tr("Follow-up #{id} for <@{user}>, due {date}.").format(
            id=added.id, user=added.responsible, date=ctx.tr.date(added.due_on))
        if added.due_on.year != today.year:
            text += " " + ctx.tr("Note: that is in {year}.").format(year=added.due_on.year)
        return Reply(text)


def follow_up_form(ctx: Context, team: Team, goal: Goal) -> Form:
    tr = ctx.tr
    return Form(
        kind="followup", title=tr("New follow-up"), submit=tr("Save"),
        intro=tr("For goal #{id} of {citizen}. Only team {team}'s members see this.").format(
            id=goal.id, citizen=escape(goal.citizen_ref), team=team.code),
        state=f"lang={ctx.tr.language};team={team.id};"
              f"channel={ctx.request.channel_id};goal={goal.id}",
        fields=(
            FormField("text", tr("What is to be followed up"), "long_text"),
            FormField("responsible", tr("Responsible"), "user", "", ctx.request.user_id),
            FormField("due_on", tr("Due"), "date", "",
                      (team_today(ctx, team)).isoformat()),
        ))


def follow_up_list(ctx: Context, team: Team, found: list[FollowUp]) -> Reply:
    tr = ctx.tr
    if not found:
        return Reply(tr("Team {team} has no open follow-ups.").format(team=team.code))
    today = team_today(ctx, team)
    mine = [f for f in found if f.responsible == ctx.request.user_id]
    others = [f for f in found if f.responsible != ctx.request.user_id]
    overdue = sum(f.due_on < today for f in found)
    text = tr("Open follow-ups of team {team}: {count}, of them {overdue} overdue; yours: "
              "{mine}.").format(team=team.code, count=len(found), overdue=overdue,
                                mine=len(mine))
    shown = (mine + others)[:LIST_LIMIT]
    if len(found) > len(shown):
        text += "\n" + tr("The first {shown} are shown.").format(shown=len(shown))
    return Reply(text, items=tuple(follow_up_item(f, today, tr) for f in shown))


def follow_up_item(follow_up: FollowUp, today, tr: Translator) -> Item:
    return Item(follow_up_line(follow_up, today, tr), (
        Button(tr("Done"), "followup_done", str(follow_up.id), "primary"),
        Button(tr("1 day later"), "followup_snooze_day", str(follow_up.id)),
        Button(tr("1 week later"), "followup_snooze_week", str(follow_up.id)),
    ))


def follow_up_line(follow_up: FollowUp, today, tr: Translator) -> str:
    when = follow_up.due_on.isoformat()
    if follow_up.due_on < today:
        when = tr("overdue since {date}").format(date=when)
    elif follow_up.due_on == today:
        when = tr("due today")
    what = escape(follow_up.text)
    if follow_up.kind == "reassessment":
        what = tr("Reassessment: {text}").format(text=what)
    about = f" {escape(follow_up.citizen_ref)}" if follow_up.citizen_ref else ""
    return f"*#{follow_up.id}{about}* · <@{follow_up.responsible}> · {when}\n{what}"
