"""Coach alerts in the database: the KPI series the detector reads, the alerts it raised (one
row per episode), and their messages to coaches, each claimed before it is sent
(``storage.claims``) and then answered with the message's buttons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.claims import as_utc, claim_row, finish_row, insert_for
from storage.models import AlertMessage, DriftAlert, KpiValue, Team, TeamRole

FEEDBACK = ("seen", "discuss", "not_useful")


def series(session: Session, metrics: tuple[str, ...]) -> pd.DataFrame:
    """The tidy series of every team: team (code), metric, week (index), value."""
    rows = session.execute(
        select(Team.code, KpiValue.kpi, KpiValue.week, KpiValue.value)
        .join(Team, Team.id == KpiValue.team_id).where(KpiValue.kpi.in_(metrics))).all()
    return pd.DataFrame(rows, columns=["team", "metric", "week", "value"]).astype(
        {"value": float})


@dataclass(frozen=True)
class NewAlert:
    team: str
    metric: str
    week: int
    start_week: int
    baseline: float
    current: float
    spread: float
    years_by_chance: float


def record(session: Session, alerts: list[NewAlert], now: dt.datetime) -> list[int]:
    """Store alerts not stored yet; the ids of the new ones."""
    team_ids = dict(session.execute(select(Team.code, Team.id)).all())
    new = []
    for a in alerts:
        inserted = session.execute(
            insert_for(session, DriftAlert).values(
                team_id=team_ids[a.team], metric=a.metric, week=a.week,
                start_week=a.start_week, baseline=a.baseline, current=a.current,
                spread=a.spread, years_by_chance=a.years_by_chance, created_at=as_utc(now))
            .on_conflict_do_nothing(index_elements=["team_id", "metric", "week"])
            .returning(DriftAlert.id)).first()
        if inserted is not None:
            new.append(inserted[0])
    return new


def unsent(session: Session, since_week: int) -> list[tuple[int, str]]:
    """(alert id, coach) of alerts raised since ``since_week`` that a coach of the team has
    not been sent (or refused for good) yet."""
    rows = session.execute(
        select(DriftAlert.id, TeamRole.user_id)
        .join(TeamRole, (TeamRole.team_id == DriftAlert.team_id) & (TeamRole.role == "coach"))
        .outerjoin(AlertMessage, (AlertMessage.alert_id == DriftAlert.id)
                   & (AlertMessage.user_id == TeamRole.user_id))
        .where(DriftAlert.week >= since_week,
               (AlertMessage.id.is_(None)) | AlertMessage.state.in_(("pending", "claimed")))
        .order_by(DriftAlert.id, TeamRole.user_id)).all()
    return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True)
class MessageClaim:
    id: int
    alert_id: int
    user: str
    attempts: int
    first_claimed_at: dt.datetime


def claim(session: Session, alert_id: int, user: str, poster: str, now: dt.datetime,
          lease: dt.timedelta) -> MessageClaim | None:
    row_id = claim_row(session, AlertMessage, {"alert_id": alert_id, "user_id": user}, poster,
                       now, lease)
    if row_id is None:
        return None
    row = session.get(AlertMessage, row_id)
    return MessageClaim(row_id, alert_id, user, row.attempts, as_utc(row.first_claimed_at))


def mark_sent(session: Session, message: MessageClaim, poster: str, ts: str) -> bool:
    return finish_row(session, AlertMessage, message.id, poster, state="sent", message_ts=ts,
                      error=None)


def mark_failed(session: Session, message: MessageClaim, poster: str, error: str) -> bool:
    return finish_row(session, AlertMessage, message.id, poster, state="failed",
                      error=error[:200])


def release(session: Session, message: MessageClaim, poster: str, error: str) -> bool:
    return finish_row(session, AlertMessage, message.id, poster, state="pending",
                      claimed_by=None, claimed_at=None, error=error[:200])


def answer(session: Session, message_id: int, user: str, feedback: str,
           now: dt.datetime) -> tuple[AlertMessage, DriftAlert] | None:
    """The coach's answer to their alert message; None when it is not theirs."""
    if feedback not in FEEDBACK:
        raise ValueError(feedback)
    message = session.get(AlertMessage, message_id)
    if message is None or message.user_id != user:
        return None
    message.feedback, message.feedback_at = feedback, as_utc(now)
    return message, session.get(DriftAlert, message.alert_id)


def open_signals(session: Session, coach: str, since_week: int) -> list[tuple[DriftAlert, str]]:
    """The alerts since ``since_week`` of the teams ``coach`` coaches, with the team's code."""
    return [(alert, code) for alert, code in session.execute(
        select(DriftAlert, Team.code).join(Team, Team.id == DriftAlert.team_id)
        .join(TeamRole, (TeamRole.team_id == Team.id) & (TeamRole.role == "coach"))
        .where(TeamRole.user_id == coach, DriftAlert.week >= since_week)
        .order_by(Team.code, DriftAlert.metric, DriftAlert.week)).all()]


def coaches(session: Session) -> list[str]:
    return list(session.scalars(select(TeamRole.user_id).where(TeamRole.role == "coach")
                                .distinct().order_by(TeamRole.user_id)))


def usefulness(session: Session, since: dt.datetime) -> dict[str, dict[str, int]]:
    """metric -> answer (seen, discuss, not_useful, none) -> messages sent since ``since``."""
    rows = session.execute(
        select(DriftAlert.metric, AlertMessage.feedback, func.count())
        .join(DriftAlert, DriftAlert.id == AlertMessage.alert_id)
        .where(AlertMessage.state == "sent", AlertMessage.first_claimed_at >= as_utc(since))
        .group_by(DriftAlert.metric, AlertMessage.feedback)).all()
    out: dict[str, dict[str, int]] = {}
    for metric, feedback, count in rows:
        out.setdefault(metric, {})[feedback or "none"] = int(count)
    return out
