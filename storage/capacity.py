"""Reads for the back office's capacity view (``metrics.capacity``), and the temp rules it
sets. Queries run in the caller's transaction and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from metrics import weeks
from metrics.capacity import TeamRecords, TempRule
from storage.errors import TeamError
from storage.models import (
    HoursRow,
    Norm,
    Staff,
    Team,
    TeamRole,
    TempRuleRow,
    Visit,
)

HISTORY_WEEKS = 157  # three years: what the forecast looks at


def team_records(session: Session, team_id: int, last_week: int,
                 history: int = HISTORY_WEEKS) -> TeamRecords:
    """The team's staff, norms, and its hours and delivered visits summed per week and
    employee over the ``history`` weeks to ``last_week``."""
    first = last_week - history + 1
    staff = pd.DataFrame(session.execute(
        select(Staff.employee_id, Staff.profession, Staff.contracted_hours, Staff.start_week,
               Staff.end_week).where(Staff.team_id == team_id)).all(),
        columns=["employee_id", "profession", "contracted_hours", "start_week", "end_week"])
    staff["end_week"] = staff["end_week"].astype(float)
    hours = pd.DataFrame(session.execute(
        select(HoursRow.week, HoursRow.employee_id, HoursRow.kind, HoursRow.profession,
               func.sum(HoursRow.hours))
        .where(HoursRow.team_id == team_id, HoursRow.week.between(first, last_week))
        .group_by(HoursRow.week, HoursRow.employee_id, HoursRow.kind, HoursRow.profession))
        .all(), columns=["week", "employee_id", "kind", "profession", "hours"])
    visits = pd.DataFrame(session.execute(
        select(Visit.week, Visit.employee_id, func.sum(Visit.minutes))
        .where(Visit.team_id == team_id, Visit.week.between(first, last_week),
               Visit.status == "delivered")
        .group_by(Visit.week, Visit.employee_id)).all(),
        columns=["week", "employee_id", "minutes"])
    visits["client_hours"] = visits.pop("minutes").astype(float) / 60
    norms = pd.DataFrame(
        [(p, weeks.week_index(d), h) for p, d, h in session.execute(
            select(Norm.profession, Norm.valid_from, Norm.hours_per_week)
            .where(Norm.team_id == team_id))],
        columns=["profession", "week", "hours_per_week"])
    return TeamRecords(staff, hours, visits, norms)


# -- who sees what -----------------------------------------------------------------------------

def back_office_teams(session: Session, user_id: str) -> list[Team]:
    """The teams the user is back office for, by code."""
    return list(session.scalars(
        select(Team).join(TeamRole).where(TeamRole.role == "back_office",
                                          TeamRole.user_id == user_id).order_by(Team.code)))


def back_office_users(session: Session) -> list[str]:
    return list(session.scalars(select(TeamRole.user_id).where(TeamRole.role == "back_office")
                                .distinct().order_by(TeamRole.user_id)))


# -- temp rules --------------------------------------------------------------------------------

def temp_rules(session: Session, team_ids: Iterable[int] | None = None) -> dict[int, TempRule]:
    query = select(TempRuleRow)
    if team_ids is not None:
        query = query.where(TempRuleRow.team_id.in_(list(team_ids)))
    return {r.team_id: TempRule(r.max_share, r.weeks) for r in session.scalars(query)}


def set_temp_rule(session: Session, team: Team, rule: TempRule | None, user_id: str,
                  now: dt.datetime) -> None:
    """Set (or, with None, remove) the team's temp rule."""
    if rule is not None and not (0 < rule.max_share < 1 and 1 <= rule.weeks <= 52):
        raise TeamError("a temp rule is a share between 0 and 100 % and 1 to 52 weeks")
    session.execute(delete(TempRuleRow).where(TempRuleRow.team_id == team.id))
    if rule is not None:
        session.add(TempRuleRow(team_id=team.id, max_share=rule.max_share, weeks=rule.weeks,
                                set_by=user_id, set_at=now))
    session.flush()
