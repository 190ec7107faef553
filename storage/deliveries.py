"""Delivery records of the weekly dashboard: one per (team, week), claimed before posting so
that each dashboard is posted once, whatever the number of posters (``storage.claims``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.claims import Claimant, Hold, as_utc, claim_row, finish_row, hold_of, insert_for
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


def claim(session: Session, team_id: int, week: int, poster: str, now: dt.datetime,
          lease: dt.timedelta, claimant: Claimant | None = None) -> Claim | None:
    """Claim the delivery of ``week`` for ``team_id``; None when another poster has it (and
    is not known to be dead) or it is done (sent, skipped or failed): ``hold`` says which."""
    row_id = claim_row(session, DashboardDelivery, {"team_id": team_id, "week": week}, poster,
                       now, lease, claimant)
    if row_id is None:
        return None
    row = session.execute(
        select(DashboardDelivery.attempts, DashboardDelivery.first_claimed_at,
               DashboardDelivery.file_id).where(DashboardDelivery.id == row_id)).one()
    return Claim(row_id, team_id, week, row.attempts, as_utc(row.first_claimed_at), row.file_id)


def hold(session: Session, team_id: int, week: int, lease: dt.timedelta) -> Hold | None:
    """Why the delivery could not be claimed (``storage.claims.Hold``); None: no record."""
    return hold_of(session, DashboardDelivery, {"team_id": team_id, "week": week}, lease)


def _finish(session: Session, claim_: Claim, poster: str, **values) -> bool:
    return finish_row(session, DashboardDelivery, claim_.id, poster, **values)


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
        insert_for(session, DashboardDelivery).values(
            team_id=team_id, week=week, state="skipped", attempts=0, first_claimed_at=now,
            finished_at=now, error=reason[:200])
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


