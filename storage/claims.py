"""Claims: how one of several posters takes a message to send so that it is sent once.

A table of claimable rows has a unique key and the columns state, attempts, claimed_by,
claimed_at and first_claimed_at. A claim is one statement that succeeds for exactly one
poster: inserting the row (the unique key refuses a second), or taking over a row whose last
attempt failed for a passing reason (pending) or whose poster went quiet (claimed longer ago
than the lease). On PostgreSQL the taking-over UPDATE holds the row's lock until its
transaction ends; a second replica's UPDATE waits for it, re-reads the row and finds it
claimed. Every statement says by RETURNING whether it changed a row (an ORM-enabled
statement's rowcount is not to be trusted on every driver). The caller commits each claim at
once (``with sessions.begin()``) so that the others see it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session


def insert_for(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def claim_row(session: Session, model, keys: dict, poster: str, now: dt.datetime,
              lease: dt.timedelta) -> int | None:
    """The claimed row's id, or None when another poster has it or it is done."""
    now = as_utc(now)
    inserted = session.execute(
        insert_for(session, model).values(**keys, state="claimed", attempts=1,
                                          claimed_by=poster, claimed_at=now,
                                          first_claimed_at=now)
        .on_conflict_do_nothing(index_elements=list(keys)).returning(model.id)).first()
    if inserted is not None:
        return inserted[0]
    taken = session.execute(
        update(model)
        .where(*(getattr(model, k) == v for k, v in keys.items()),
               or_(model.state == "pending",
                   and_(model.state == "claimed", model.claimed_at < now - lease)))
        .values(state="claimed", claimed_by=poster, claimed_at=now, attempts=model.attempts + 1)
        .returning(model.id).execution_options(synchronize_session=False)).first()
    return None if taken is None else taken[0]


def finish_row(session: Session, model, row_id: int, poster: str, **values) -> bool:
    """Update a claimed row if this poster still holds it; False if it lost the claim."""
    done = session.execute(
        update(model).where(model.id == row_id, model.state == "claimed",
                            model.claimed_by == poster)
        .values(**values).returning(model.id)
        .execution_options(synchronize_session=False)).first()
    return done is not None


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Times are stored in UTC: SQLite keeps the wall-clock digits it is given and hands them
    back naive; PostgreSQL hands back an aware time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)
