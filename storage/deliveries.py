"""Delivery records of the weekly dashboard: one per (team, week), claimed before posting so
that each dashboard is posted once, whatever the number of posters.

Every statement says by RETURNING whether it changed a row (an ORM-enabled statement's
rowcount is not to be trusted on every driver). A claim is one statement that succeeds for
exactly one poster: inserting the record (the
unique key refuses a second), or taking over a record whose last attempt failed for a passing
reason (pending) or whose poster went quiet (claimed longer ago than the lease). On PostgreSQL
the taking-over UPDATE holds the row's lock until its transaction ends; a second replica's
UPDATE waits for it, re-reads the row and finds it claimed. The caller commits each claim at
once (``with sessions.begin()``) so that the others see it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import DashboardDelivery

FINAL = ("sent", "skipped", "failed")


@dataclass(frozen=True)
class Claim:
    """A claimed delivery, as the poster needs it."""

    id: int
    team_id: int
    week: int
    attempts: int  # this one included: above 1, an earlier attempt may have posted
    first_claimed_at: dt.datetime
    file_id: str | None  # the image uploaded by an earlier attempt, if any


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(DashboardDelivery)


def claim(session: Session, team_id: int, week: int, poster: str, now: dt.datetime,
          lease: dt.timedelta) -> Claim | None:
    """Claim the delivery of ``week`` for ``team_id``; None when another poster has it or it is
    done (sent, skipped or failed)."""
    now = as_utc(now)
    inserted = session.execute(
        _insert(session).values(team_id=team_id, week=week, state="claimed", attempts=1,
                                claimed_by=poster, claimed_at=now, first_claimed_at=now)
        .on_conflict_do_nothing(index_elements=["team_id", "week"])
        .returning(DashboardDelivery.id)).first()
    if inserted is None:
        taken = session.execute(
            update(DashboardDelivery)
            .where(DashboardDelivery.team_id == team_id, DashboardDelivery.week == week,
                   or_(DashboardDelivery.state == "pending",
                       and_(DashboardDelivery.state == "claimed",
                            DashboardDelivery.claimed_at < now - lease)))
            .values(state="claimed", claimed_by=poster, claimed_at=now,
                    attempts=DashboardDelivery.attempts + 1)
            .returning(DashboardDelivery.id)
            .execution_options(synchronize_session=False)).first()
        if taken is None:
            return None
    row = session.execute(
        select(DashboardDelivery.id, DashboardDelivery.attempts,
               DashboardDelivery.first_claimed_at, DashboardDelivery.file_id)
        .where(DashboardDelivery.team_id == team_id, DashboardDelivery.week == week)).one()
    return Claim(row.id, team_id, week, row.attempts, as_utc(row.first_claimed_at), row.file_id)


def _finish(session: Session, claim_: Claim, poster: str, **values) -> bool:
    """Update the claimed record if this poster still holds it; False if it lost the claim."""
    done = session.execute(
        update(DashboardDelivery)
        .where(DashboardDelivery.id == claim_.id, DashboardDelivery.state == "claimed",
               DashboardDelivery.claimed_by == poster)
        .values(**values).returning(DashboardDelivery.id)
        .execution_options(synchronize_session=False)).first()
    return done is not None


def mark_uploaded(session: Session, claim_: Claim, poster: str, file_id: str) -> bool:
    """Remember the uploaded image, so that a later attempt posts it instead of a new one."""
    return _finish(session, claim_, poster, file_id=file_id)


def mark_sent(session: Session, claim_: Claim, poster: str, channel: str, ts: str,
              now: dt.datetime) -> bool:
    return _finish(session, claim_, poster, state="sent", channel_id=channel, message_ts=ts,
                   finished_at=as_utc(now), error=None)


def mark_failed(session: Session, claim_: Claim, poster: str, error: str,
                now: dt.datetime) -> bool:
    """Slack refused for good (``error`` is its code): not tried again by the schedule."""
    return _finish(session, claim_, poster, state="failed", error=error[:200],
                   finished_at=as_utc(now))


def release(session: Session, claim_: Claim, poster: str, error: str) -> bool:
    """An attempt failed for a passing reason: the next run may claim the delivery again."""
    return _finish(session, claim_, poster, state="pending", claimed_by=None, claimed_at=None,
                   error=error[:200])


def skip(session: Session, team_id: int, week: int, reason: str, now: dt.datetime) -> bool:
    """Record that ``week`` is not posted for the team (True if this call recorded it)."""
    now = as_utc(now)
    inserted = session.execute(
        _insert(session).values(team_id=team_id, week=week, state="skipped", attempts=0,
                                first_claimed_at=now, finished_at=now, error=reason[:200])
        .on_conflict_do_nothing(index_elements=["team_id", "week"])
        .returning(DashboardDelivery.id)).first()
    if inserted is not None:
        return True
    expired = session.execute(
        update(DashboardDelivery)
        .where(DashboardDelivery.team_id == team_id, DashboardDelivery.week == week,
               DashboardDelivery.state == "pending")
        .values(state="skipped", finished_at=now, error=reason[:200])
        .returning(DashboardDelivery.id)
        .execution_options(synchronize_session=False)).first()
    return expired is not None


def retry_failed(session: Session, team_id: int, week: int) -> None:
    """Let a failed or skipped delivery be claimed again (an operator's explicit retry)."""
    session.execute(
        update(DashboardDelivery)
        .where(DashboardDelivery.team_id == team_id, DashboardDelivery.week == week,
               DashboardDelivery.state.in_(("failed", "skipped")))
        .values(state="pending", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False))


def states(session: Session, weeks: list[int]) -> dict[tuple[int, int], str]:
    """(team_id, week) -> state of the records of these weeks."""
    if not weeks:
        return {}
    rows = session.execute(select(DashboardDelivery.team_id, DashboardDelivery.week,
                                  DashboardDelivery.state)
                           .where(DashboardDelivery.week.in_(weeks)))
    return {(r.team_id, r.week): r.state for r in rows}


def records(session: Session) -> list[DashboardDelivery]:
    return list(session.scalars(select(DashboardDelivery)
                                .order_by(DashboardDelivery.week, DashboardDelivery.team_id)))


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Times are stored in UTC: SQLite keeps the wall-clock digits it is given and hands them
    back naive; PostgreSQL hands back an aware time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)
