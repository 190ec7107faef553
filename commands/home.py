"""The App Home tab: the user's follow-ups due within a week (overdue ones first) with their
buttons, each of their teams' overdue count, and this week's KPI card of their team."""

from __future__ import annotations

import datetime as dt

from commands import kpi
from commands.context import Context
from commands.followup import follow_up_item
from commands.goal import team_today
from commands.reply import Item, Reply
from metrics import weeks

SOON_DAYS = 7


def home(ctx: Context) -> Reply:
    from storage import goals
    from storage.teams import teams_of_user

    tr, user = ctx.tr, ctx.request.user_id
    lines = ["*teampuls*"]
    items: list[Item] = []
    fields: tuple = ()
    member_of = [t for t in teams_of_user(ctx.session, user)
                 if goals.is_member(ctx.session, user, t.id)]
    if not member_of:
        lines.append(tr("You are not in any team's channel yet; ask in your team's channel to "
                        "be linked (/teampuls help)."))
    for team in member_of:
        today = team_today(ctx, team)
        open_ones = goals.open_follow_ups(ctx.session, user, team.id, ctx.now)
        overdue = sum(f.due_on < today for f in open_ones)
        soon = [f for f in open_ones if f.responsible == user
                and f.due_on <= today + dt.timedelta(days=SOON_DAYS)]
        lines.append(tr("Team {team}: {overdue} overdue follow-ups; yours due within a week: "
                        "{soon}.").format(team=team.code, overdue=overdue, soon=len(soon)))
        items += [follow_up_item(f, today, tr) for f in soon[:10]]
    if member_of:
        week = weeks.last_complete(team_today(ctx, member_of[0]))
        card = kpi.card(member_of[0].code, week, ctx)
        lines += ["", card.text]
        fields = card.fields
    return Reply("\n".join(lines), fields, items=tuple(items))
