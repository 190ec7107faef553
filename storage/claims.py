"""Claims: how one of several posters takes a message to send so that it is sent once.

A table of claimable rows has a unique key and the columns state, attempts, claimed_by,
claimed_at, first_claimed_at and the claimant's process (claimed_host, claimed_pid,
claimed_start: a ``Claimant``). A claim is one statement that succeeds for exactly one
poster: inserting the row (the unique key refuses a second), or taking over a row whose last
attempt failed for a passing reason (pending), whose poster went quiet (claimed longer ago
than the lease), or whose poster is dead (its process is gone from this host: a killed
poster's claims are taken over at once instead of after the lease; the take-over names the
claim it replaces, so that only one poster gets it). On PostgreSQL the taking-over UPDATE holds the row's lock until its
transaction ends; a second replica's UPDATE waits for it, re-reads the row and finds it
claimed. Every statement says by RETURNING whether it changed a row (an ORM-enabled
statement's rowcount is not to be trusted on every driver). The caller commits each claim at
once (``with sessions.begin()``) so that the others see it.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import pathlib
import socket
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Claimant:
    """The process that holds a claim: its host's name, its process id, and what tells that
    process from a later one with the same id (the boot, the PID namespace and the process's
    start time, from /proc; empty where there is no /proc)."""

    host: str
    pid: int
    start: str

    @staticmethod
    def this_process() -> Claimant:
        return _this_process(os.getpid())

    def gone(self) -> bool:
        """True only when this claimant has certainly ended: it ran on this host, in this boot
        and PID namespace, and no process with its id and start time is alive. A claimant on
        another host (or where that cannot be told) is never taken for dead: its lease runs
        out instead."""
        here = Claimant.this_process()
        if not self.start or not here.start or self.host != here.host:
            return False
        boot, namespace, _ = self.start.rsplit("/", 2)
        here_boot, here_namespace, _ = here.start.rsplit("/", 2)
        if (boot, namespace) != (here_boot, here_namespace):
            return False
        try:
            os.kill(self.pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # it exists, run by another user: its start time below tells if it is ours
        try:
            now = _process_start(self.pid, missing_ok=False)
        except OSError:  # /proc hides it (hidepid, ProtectProc=invisible): cannot tell
            return False
        return now is None or now != self.start  # None: ended, not yet reaped

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


@functools.lru_cache(maxsize=4)
def _this_process(pid: int) -> Claimant:
    return Claimant(socket.gethostname(), pid, _process_start(pid) or "")


def _process_start(pid: int, missing_ok: bool = True) -> str | None:
    """"boot/pid-namespace/start-ticks" of a live process (None: a zombie, or with
    ``missing_ok`` no such process or no /proc to ask; without it, OSError then)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        boot = pathlib.Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        if missing_ok:
            return None
        raise
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command) "
    if fields[0] in ("Z", "X"):  # ended, not yet reaped by its parent
        return None
    return f"{boot}/{namespace}/{fields[19]}"


def insert_for(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def claim_row(session: Session, model, keys: dict, poster: str, now: dt.datetime,
              lease: dt.timedelta, claimant: Claimant | None = None) -> int | None:
    """The claimed row's id, or None when another (live) poster has it or it is done.
    ``claimant``: the claiming process (by default this one)."""
    now = as_utc(now)
    claimant = claimant or Claimant.this_process()
    holder = {"state": "claimed", "claimed_by": poster, "claimed_at": now,
              "claimed_host": claimant.host, "claimed_pid": claimant.pid,
              "claimed_start": claimant.start}
    inserted = session.execute(
        insert_for(session, model).values(**keys, **holder, attempts=1, first_claimed_at=now)
        .on_conflict_do_nothing(index_elements=list(keys)).returning(model.id)).first()
    if inserted is not None:
        return inserted[0]
    where = [getattr(model, k) == v for k, v in keys.items()]
    taken = session.execute(
        update(model)
        .where(*where, or_(model.state == "pending",
                           and_(model.state == "claimed", model.claimed_at < now - lease)))
        .values(**holder, attempts=model.attempts + 1)
        .returning(model.id).execution_options(synchronize_session=False)).first()
    if taken is not None:
        return taken[0]
    held = session.execute(
        select(model.state, model.claimed_by, model.attempts, model.claimed_host,
               model.claimed_pid, model.claimed_start).where(*where)).first()
    if held is None or held.state != "claimed" or held.claimed_pid is None:
        return None
    if not Claimant(held.claimed_host or "", held.claimed_pid, held.claimed_start or "").gone():
        return None
    # The claimant is dead: take its claim over, if no one else did since it was read.
    taken = session.execute(
        update(model)
        .where(*where, model.state == "claimed", model.claimed_by == held.claimed_by,
               model.attempts == held.attempts)
        .values(**holder, attempts=model.attempts + 1)
        .returning(model.id).execution_options(synchronize_session=False)).first()
    return None if taken is None else taken[0]


@dataclass(frozen=True)
class Hold:
    """Why a row could not be claimed: its state, and for a claimed one, who holds it, since
    when, whether that process is known to be alive (on this host), and from when the claim
    may be taken over (its lease runs out)."""

    state: str
    claimant: Claimant | None = None
    since: dt.datetime | None = None
    alive: bool = False
    retry_at: dt.datetime | None = None


def hold_of(session: Session, model, keys: dict, lease: dt.timedelta) -> Hold | None:
    """The row's state as ``claim_row`` found it (None: there is no row)."""
    row = session.execute(
        select(model.state, model.claimed_at, model.claimed_host, model.claimed_pid,
               model.claimed_start)
        .where(*(getattr(model, k) == v for k, v in keys.items()))).first()
    if row is None:
        return None
    if row.state != "claimed" or row.claimed_at is None:
        return Hold(row.state)
    since = as_utc(row.claimed_at)
    claimant = None
    alive = False
    if row.claimed_pid is not None:
        claimant = Claimant(row.claimed_host or "", row.claimed_pid, row.claimed_start or "")
        here = Claimant.this_process()
        alive = bool(claimant.start) and claimant.host == here.host and not claimant.gone()
    return Hold("claimed", claimant, since, alive, since + lease)


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
