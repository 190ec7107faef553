"""Goals from "What matters to you?" and follow-ups: the team's alone.

Citizen text is health data. Every function that reads or changes a team's goals or follow-ups
takes the acting Slack user and checks here, in the data layer, that they are a member of the
team (a member of one of its linked channels), and not its coach: coaches, the back office,
admins and other teams see nothing. Every such read and write is written to the audit log by
ids, never the text. Free text that looks like a CPR number or fødselsnummer is refused before
it is stored (``storage.national_ids``).

Functions change the session; the caller commits (``with sessions.begin()``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    AuditEntry,
    ChannelMember,
    FollowUp,
    Goal,
    GoalChange,
    TeamChannel,
    TeamRole,
    Visit,
)
from storage.national_ids import find_national_id

MAX_TEXT = 2000  # characters of a free-text field
MAX_REF = 64
AUDIT_DAYS = 183  # six months
GOAL_FIELDS = ("citizen_ref", "what_matters", "goal", "follow_up_by", "reassess_on")


class AccessDenied(Exception):
    """The user is not a member of the team whose goals or follow-ups they asked for."""


class GoalInputError(ValueError):
    """Input that cannot be stored; ``field`` names the field, the message says why (English,
    with ``{placeholders}`` filled from ``params`` where it is shown)."""

    def __init__(self, field: str, message: str, **params: object):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


class NotFound(LookupError):
    """No goal or follow-up with that id (for this user: one of another team is not found)."""


# -- who may ----------------------------------------------------------------------------------

def is_member(session: Session, user: str, team_id: int) -> bool:
    """A member of one of the team's channels, and not the team's coach."""
    in_channel = session.scalar(
        select(func.count()).select_from(ChannelMember)
        .join(TeamChannel, TeamChannel.channel_id == ChannelMember.channel_id)
        .where(TeamChannel.team_id == team_id, ChannelMember.user_id == user))
    if not in_channel:
        return False
    coach = session.scalar(select(func.count()).select_from(TeamRole).where(
        TeamRole.team_id == team_id, TeamRole.user_id == user, TeamRole.role == "coach"))
    return not coach


def _check(session: Session, user: str, team_id: int) -> None:
    if not is_member(session, user, team_id):
        raise AccessDenied(user)


def audit(session: Session, now: dt.datetime, user: str, action: str, subject: str,
          subject_id: int | None, team_id: int | None) -> None:
    session.add(AuditEntry(at=_utc(now), user_id=user, action=action, subject=subject,
                           subject_id=subject_id, team_id=team_id))


# -- checking input ---------------------------------------------------------------------------

def clean_text(field: str, value: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise GoalInputError(field, "Please fill this in.")
    if len(value) > limit:
        raise GoalInputError(field, "At most {limit} characters, please.", limit=limit)
    if find_national_id(value):
        raise GoalInputError(field, "This looks like a CPR number or fødselsnummer. Never write "
                             "those here; use the citizen's reference (e.g. B-10442).")
    return value


def clean_ref(value: str) -> str:
    ref = clean_text("citizen_ref", value, limit=MAX_REF)
    if any(c.isspace() for c in ref):
        raise GoalInputError("citizen_ref", "A citizen reference has no spaces, e.g. B-10442.")
    return ref


@dataclass(frozen=True)
class GoalInput:
    citizen_ref: str
    what_matters: str
    goal: str
    follow_up_by: str  # Slack user id
    reassess_on: dt.date | None

    def cleaned(self) -> GoalInput:
        return GoalInput(clean_ref(self.citizen_ref),
                         clean_text("what_matters", self.what_matters),
                         clean_text("goal", self.goal),
                         clean_text("follow_up_by", self.follow_up_by, limit=32),
                         self.reassess_on)


@dataclass(frozen=True)
class FollowUpInput:
    text: str
    responsible: str  # Slack user id
    due_on: dt.date | None

    def cleaned(self) -> FollowUpInput:
        text = clean_text("text", self.text)
        responsible = clean_text("responsible", self.responsible, limit=32)
        if self.due_on is None:
            raise GoalInputError("due_on", "Please fill this in.")
        return FollowUpInput(text, responsible, self.due_on)


# -- goals ------------------------------------------------------------------------------------

def create_goal(session: Session, user: str, team_id: int, data: GoalInput,
                now: dt.datetime) -> Goal:
    _check(session, user, team_id)
    data = data.cleaned()
    goal = Goal(team_id=team_id, citizen_ref=data.citizen_ref, what_matters=data.what_matters,
                goal=data.goal, follow_up_by=data.follow_up_by, reassess_on=data.reassess_on,
                state="open", created_by=user, created_at=_utc(now))
    session.add(goal)
    session.flush()
    _sync_reassessment(session, goal, user, now)
    audit(session, now, user, "create", "goal", goal.id, team_id)
    return goal


def get_goal(session: Session, user: str, goal_id: int, now: dt.datetime) -> Goal:
    goal = session.get(Goal, goal_id)
    if goal is None or not is_member(session, user, goal.team_id):
        raise NotFound(goal_id)
    audit(session, now, user, "read", "goal", goal.id, goal.team_id)
    return goal


def edit_goal(session: Session, user: str, goal_id: int, data: GoalInput,
              now: dt.datetime) -> Goal:
    goal = get_goal(session, user, goal_id, now)
    data = data.cleaned()
    for field in GOAL_FIELDS:
        old, new = getattr(goal, field), getattr(data, field)
        if old != new:
            session.add(GoalChange(goal_id=goal.id, changed_by=user, changed_at=_utc(now),
                                   field=field, old_value=_text(old), new_value=_text(new)))
            setattr(goal, field, new)
    session.flush()
    _sync_reassessment(session, goal, user, now)
    audit(session, now, user, "update", "goal", goal.id, goal.team_id)
    return goal


def close_goal(session: Session, user: str, goal_id: int, now: dt.datetime) -> Goal:
    goal = get_goal(session, user, goal_id, now)
    if goal.state != "done":
        session.add(GoalChange(goal_id=goal.id, changed_by=user, changed_at=_utc(now),
                               field="state", old_value=goal.state, new_value="done"))
        goal.state, goal.closed_at = "done", _utc(now)
        for follow_up in session.scalars(select(FollowUp).where(
                FollowUp.goal_id == goal.id, FollowUp.state == "open")):
            follow_up.state, follow_up.done_at = "done", _utc(now)
    audit(session, now, user, "close", "goal", goal.id, goal.team_id)
    return goal


def open_goals(session: Session, user: str, team_id: int, now: dt.datetime,
               citizen_ref: str | None = None) -> list[Goal]:
    _check(session, user, team_id)
    query = select(Goal).where(Goal.team_id == team_id, Goal.state == "open")
    if citizen_ref:
        query = query.where(Goal.citizen_ref == clean_ref(citizen_ref))
    goals = list(session.scalars(query.order_by(Goal.citizen_ref, Goal.id)))
    audit(session, now, user, "read", "goal_list", None, team_id)
    return goals


def _sync_reassessment(session: Session, goal: Goal, user: str, now: dt.datetime) -> None:
    """A goal's reassessment date is a follow-up of its own, for the one who follows up."""
    follow_up = session.scalar(select(FollowUp).where(
        FollowUp.goal_id == goal.id, FollowUp.kind == "reassessment", FollowUp.state == "open"))
    if goal.reassess_on is None:
        if follow_up is not None:
            session.delete(follow_up)
        return
    if follow_up is None:
        follow_up = FollowUp(team_id=goal.team_id, goal_id=goal.id, kind="reassessment",
                             state="open", created_by=user, created_at=_utc(now))
        session.add(follow_up)
    follow_up.citizen_ref = goal.citizen_ref
    follow_up.text = goal.goal
    follow_up.responsible = goal.follow_up_by
    if follow_up.due_on != goal.reassess_on:
        follow_up.due_on, follow_up.reminded_on = goal.reassess_on, None
    session.flush()


# -- follow-ups -------------------------------------------------------------------------------

def add_follow_up(session: Session, user: str, team_id: int, text: str, responsible: str,
                  due_on: dt.date, now: dt.datetime, citizen_ref: str | None = None,
                  goal_id: int | None = None) -> FollowUp:
    _check(session, user, team_id)
    if goal_id is not None:
        goal = get_goal(session, user, goal_id, now)
        if goal.team_id != team_id:
            raise NotFound(goal_id)
        citizen_ref = citizen_ref or goal.citizen_ref
    data = FollowUpInput(text, responsible, due_on).cleaned()
    follow_up = FollowUp(team_id=team_id, goal_id=goal_id,
                         citizen_ref=clean_ref(citizen_ref) if citizen_ref else None,
                         kind="task", text=data.text, responsible=data.responsible,
                         due_on=data.due_on, state="open", created_by=user,
                         created_at=_utc(now))
    session.add(follow_up)
    session.flush()
    audit(session, now, user, "create", "follow_up", follow_up.id, team_id)
    return follow_up


def get_follow_up(session: Session, user: str, follow_up_id: int,
                  now: dt.datetime) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None or not is_member(session, user, follow_up.team_id):
        raise NotFound(follow_up_id)
    audit(session, now, user, "read", "follow_up", follow_up.id, follow_up.team_id)
    return follow_up


def open_follow_ups(session: Session, user: str, team_id: int,
                    now: dt.datetime) -> list[FollowUp]:
    """The team's open follow-ups, soonest first."""
    _check(session, user, team_id)
    found = list(session.scalars(select(FollowUp).where(
        FollowUp.team_id == team_id, FollowUp.state == "open")
        .order_by(FollowUp.due_on, FollowUp.id)))
    audit(session, now, user, "read", "follow_up_list", None, team_id)
    return found


def mark_done(session: Session, user: str, follow_up_id: int, now: dt.datetime,
              today: dt.date) -> FollowUp:
    follow_up = get_follow_up(session, user, follow_up_id, now)
    if follow_up.state != "done":
        follow_up.state, follow_up.done_at = "done", _utc(now)
        follow_up.done_on_time = today <= follow_up.due_on
        if follow_up.kind == "reassessment" and follow_up.goal_id is not None:
            goal = session.get(Goal, follow_up.goal_id)
            session.add(GoalChange(goal_id=goal.id, changed_by=user, changed_at=_utc(now),
                                   field="reassessed", old_value=_text(goal.reassess_on),
                                   new_value=today.isoformat()))
            goal.reassess_on = None
    audit(session, now, user, "close", "follow_up", follow_up.id, follow_up.team_id)
    return follow_up


def snooze(session: Session, user: str, follow_up_id: int, days: int, now: dt.datetime,
           today: dt.date) -> FollowUp:
    """Put it off by ``days`` from today (or from its due date, if that is later)."""
    follow_up = get_follow_up(session, user, follow_up_id, now)
    follow_up.due_on = max(follow_up.due_on, today) + dt.timedelta(days=days)
    follow_up.reminded_on = None
    if follow_up.kind == "reassessment" and follow_up.goal_id is not None:
        goal = session.get(Goal, follow_up.goal_id)
        session.add(GoalChange(goal_id=goal.id, changed_by=user, changed_at=_utc(now),
                               field="reassess_on", old_value=_text(goal.reassess_on),
                               new_value=follow_up.due_on.isoformat()))
        goal.reassess_on = follow_up.due_on
    audit(session, now, user, "update", "follow_up", follow_up.id, follow_up.team_id)
    return follow_up


# -- reminders (the scheduler, acting for no user) --------------------------------------------

def _due_for_reminder(today: dt.date):
    """Open, due by ``today``, and not reminded since it fell due or for a week."""
    return (FollowUp.state == "open", FollowUp.due_on <= today,
            or_(FollowUp.reminded_on.is_(None), FollowUp.reminded_on < FollowUp.due_on,
                FollowUp.reminded_on <= today - dt.timedelta(days=7)))


def claim_reminder(session: Session, follow_up_id: int, today: dt.date) -> FollowUp | None:
    """Mark an open follow-up reminded today if it is due for a reminder: on or after its due
    day when never reminded since it fell due, and a week after the last reminder while it is
    overdue. None when it is not (or another process took it first)."""
    taken = session.execute(
        update(FollowUp).where(FollowUp.id == follow_up_id, *_due_for_reminder(today))
        .values(reminded_on=today).returning(FollowUp.id)
        .execution_options(synchronize_session=False)).first()
    if taken is None:
        return None
    follow_up = session.get(FollowUp, follow_up_id)
    session.refresh(follow_up)
    return follow_up


def reminder_candidates(session: Session, team_id: int, today: dt.date) -> list[int]:
    return list(session.scalars(select(FollowUp.id).where(
        FollowUp.team_id == team_id, *_due_for_reminder(today))
        .order_by(FollowUp.due_on, FollowUp.id)))


def unclaim_reminder(session: Session, follow_up_id: int, before: dt.date | None) -> None:
    """The reminder could not be sent: let the next run try again."""
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is not None:
        follow_up.reminded_on = before


# -- counts, for the weekly dashboard (no text) -----------------------------------------------

@dataclass(frozen=True)
class GoalCounts:
    goals_set: int  # goals created in the week
    done_on_time: int  # follow-ups done in the week by their due date
    overdue: int  # open follow-ups due before the end of the week
    due_next_week: int  # open follow-ups due in the week after


def team_counts(session: Session, team_id: int, first_day: dt.date, last_day: dt.date,
                start: dt.datetime, end: dt.datetime) -> GoalCounts:
    """Counts for the week ``first_day``..``last_day`` (``start``..``end`` as moments)."""
    def count(query) -> int:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    return GoalCounts(
        count(select(Goal.id).where(Goal.team_id == team_id, Goal.created_at >= _utc(start),
                                    Goal.created_at < _utc(end))),
        count(select(FollowUp.id).where(FollowUp.team_id == team_id, FollowUp.state == "done",
                                        FollowUp.done_on_time.is_(True),
                                        FollowUp.done_at >= _utc(start),
                                        FollowUp.done_at < _utc(end))),
        count(select(FollowUp.id).where(FollowUp.team_id == team_id, FollowUp.state == "open",
                                        FollowUp.due_on <= last_day)),
        count(select(FollowUp.id).where(
            FollowUp.team_id == team_id, FollowUp.state == "open",
            FollowUp.due_on > last_day, FollowUp.due_on <= last_day + dt.timedelta(days=7))),
    )


# -- retention, access requests and erasure ---------------------------------------------------

def purge(session: Session, now: dt.datetime, retention_days: int) -> tuple[int, int, int]:
    """Delete goals and follow-ups closed more than ``retention_days`` ago, and audit entries
    older than six months; returns how many of each went."""
    cutoff = _utc(now) - dt.timedelta(days=retention_days)
    follow_ups = session.execute(
        delete(FollowUp).where(FollowUp.state == "done", FollowUp.done_at < cutoff)
        .returning(FollowUp.id)).all()
    goals = session.execute(delete(Goal).where(Goal.state == "done", Goal.closed_at < cutoff)
                            .returning(Goal.id)).all()
    audits = session.execute(
        delete(AuditEntry).where(AuditEntry.at < _utc(now) - dt.timedelta(days=AUDIT_DAYS))
        .returning(AuditEntry.id)).all()
    return len(goals), len(follow_ups), len(audits)


# A citizen is found by their reference as people read it: stored references and mentions in
# free text that differ from it only by invisible characters, the kind of dash or space, or
# fullwidth and other compatibility forms (``storage.folding``) are the same citizen. Case counts:
# the contract does not make references case-insensitive.
#
# Erasure deletes the citizen's own goals, their history, follow-ups and visits, and in every
# other text (another citizen's goal, follow-up or goal history that mentions them) replaces the
# mention by ERASED: the other citizen's record stays, without this citizen in it. A subject
# access export lists those mentions beside the citizen's own records, with the text as stored
# but without the other citizen's reference; review them before handing the export over.

ERASED = "[erased]"
_TEXT_CHANGES = ("what_matters", "goal")  # GoalChange fields that hold free text


class CitizenSearch:
    """Finds one citizen's reference, stored or mentioned."""

    def __init__(self, ref: str):
        from storage.folding import fold, lookalike

        self.key = fold(ref).strip()
        if not self.key:
            from storage.errors import CitizenRefError

            raise CitizenRefError("the citizen reference is empty or holds only invisible "
                                  "characters")
        self._fold = fold
        self._pattern = lookalike(self.key)

    def same(self, stored: str | None) -> bool:
        return stored is not None and self._fold(stored).strip() == self.key

    def refs(self, session: Session, query) -> set[str]:
        """The values ``query`` selects (one column) that are this reference, as written."""
        return {value for value in session.scalars(query.distinct()) if self.same(value)}

    def spans(self, text: str | None) -> list[tuple[int, int]]:
        """Where ``text`` mentions the reference, not as part of a longer word or number
        (a Danish or Norwegian ending after it, as in ``B-000004s``, is still a mention)."""
        from storage.folding import is_invisible

        if not text:
            return []
        found = []
        for match in self._pattern.finditer(text):
            start, end = match.span()
            before = start - 1
            while before >= 0 and is_invisible(text[before]):
                before -= 1
            after = end
            while after < len(text) and is_invisible(text[after]):
                after += 1
            # Letters after a reference that ends in a digit are an ending, not a longer
            # reference ("B-000004s medicin", "B-000004ernes"): still a mention.
            glued = ((before >= 0 and _wordish(text[before]))
                     or (after < len(text) and (text[after].isdigit() or text[after] == "_"
                                                if self.key[-1].isdigit()
                                                else _wordish(text[after]))))
            if not glued:
                found.append((start, end))
        return found

    def redact(self, text: str) -> str:
        for start, end in reversed(self.spans(text)):
            text = text[:start] + ERASED + text[end:]
        return text


def _wordish(char: str) -> bool:
    return char.isalnum() or char == "_"


def _mentions(session: Session, search: CitizenSearch, skip_goals: set[int],
              skip_follow_ups: set[int]) -> list[tuple[str, object, str]]:
    """(kind, row, field) of every text outside the citizen's own records that mentions them.
    A full scan of the free text, a column at a time: no index can shorten it, as a mention
    may hide invisible characters anywhere."""
    sources = (("goal", Goal, ("what_matters", "goal"), Goal.id.not_in(skip_goals)),
               ("follow_up", FollowUp, ("text",), FollowUp.id.not_in(skip_follow_ups)),
               ("goal_change", GoalChange, ("old_value", "new_value"),
                GoalChange.field.in_(_TEXT_CHANGES) & GoalChange.goal_id.not_in(skip_goals)))
    found = []
    for kind, model, fields, where in sources:
        key = model.id
        hits: dict[int, list[str]] = {}
        rows = session.execute(select(key, *(getattr(model, f) for f in fields)).where(where)
                               .order_by(key).execution_options(yield_per=1000))
        for row_id, *texts in rows:
            hit = [f for f, text in zip(fields, texts, strict=True) if search.spans(text)]
            if hit:
                hits[row_id] = hit
        for row in session.scalars(select(model).where(key.in_(list(hits))).order_by(key)):
            found += [(kind, row, f) for f in hits[row.id]]
    return found


def _stored(session: Session, search: CitizenSearch) -> set[str]:
    """The citizen's references as stored (under any look-alike) in goals, follow-ups, visits
    and goal history."""
    return {*search.refs(session, select(Goal.citizen_ref)),
            *search.refs(session, select(FollowUp.citizen_ref)),
            *search.refs(session, select(Visit.citizen_ref)),
            *(value for column in (GoalChange.old_value, GoalChange.new_value)
              for value in search.refs(session, select(column).where(
                  GoalChange.field == "citizen_ref")))}


def _own(session: Session, search: CitizenSearch) -> tuple[list[str], list[int], list[int]]:
    """The citizen's references as stored (under any look-alike), goal ids and follow-up ids."""
    refs = sorted({search.key, *_stored(session, search)})
    goal_ids = list(session.scalars(select(Goal.id).where(Goal.citizen_ref.in_(refs))
                                    .order_by(Goal.id)))
    follow_up_ids = list(session.scalars(select(FollowUp.id).where(or_(
        FollowUp.citizen_ref.in_(refs), FollowUp.goal_id.in_(goal_ids))).order_by(FollowUp.id)))
    return refs, goal_ids, follow_up_ids


def citizen_data(session: Session, ref: str) -> dict:
    """Everything teampuls holds about one citizen (a subject access request): their goals with
    history, follow-ups and visits under any look-alike of the reference, and the texts of
    other records that mention them."""
    search = CitizenSearch(ref)
    refs, goal_ids, follow_up_ids = _own(session, search)
    goals = session.scalars(select(Goal).where(Goal.id.in_(goal_ids)).order_by(Goal.id)).all()
    follow_ups = session.scalars(select(FollowUp).where(FollowUp.id.in_(follow_up_ids))
                                 .order_by(FollowUp.id)).all()
    visits = session.scalars(select(Visit).where(Visit.citizen_ref.in_(refs))
                             .order_by(Visit.date, Visit.visit_id)).all()
    mentions = _mentions(session, search, set(goal_ids), set(follow_up_ids))
    return {
        "citizen_ref": ref,
        "references": refs,
        "goals": [{**_row(g, ("id", "team_id", "what_matters", "goal", "follow_up_by",
                              "reassess_on", "state", "created_by", "created_at", "closed_at")),
                   "history": [_row(c, ("changed_by", "changed_at", "field", "old_value",
                                        "new_value")) for c in g.changes]} for g in goals],
        "follow_ups": [_row(f, ("id", "team_id", "goal_id", "kind", "text", "responsible",
                                "due_on", "state", "created_by", "created_at", "done_at"))
                       for f in follow_ups],
        "visits": [_row(v, ("visit_id", "team_id", "employee_id", "date", "minutes", "status"))
                   for v in visits],
        "mentions": [_mention(kind, row, field) for kind, row, field in mentions],
    }


def _mention(kind: str, row, field: str) -> dict:
    where = {"goal": ("id", "team_id"), "follow_up": ("id", "team_id", "goal_id"),
             "goal_change": ("goal_id", "changed_by", "changed_at", "field")}[kind]
    return {"in": kind, **_row(row, where), "text_field": field, "text": getattr(row, field)}


def _erasable(session: Session, ref: str) -> CitizenSearch:
    """The search for a citizen that is stored as a reference somewhere: mentions of anything
    else (a typo, a word) are not redacted."""
    search = CitizenSearch(ref)
    if not _stored(session, search):
        from storage.errors import CitizenRefError

        raise CitizenRefError(f"no goal, follow-up or visit has the citizen reference {ref!r} "
                              "(or a look-alike of it): nothing erased")
    return search


def texts_to_redact(session: Session, ref: str) -> int:
    """How many texts outside the citizen's own records ``erase_citizen`` would redact."""
    search = _erasable(session, ref)
    _refs, goal_ids, follow_up_ids = _own(session, search)
    return len(_mentions(session, search, set(goal_ids), set(follow_up_ids)))


def erase_citizen(session: Session, ref: str) -> dict[str, int]:
    """Delete everything about one citizen (under any look-alike of the reference) and redact
    their mentions in other texts; returns how many rows of each kind went, how many texts
    were redacted, and the team-weeks whose visits changed (their KPIs must be recomputed).
    A reference that is not stored anywhere is refused (``CitizenRefError``)."""
    search = _erasable(session, ref)
    refs, goal_ids, follow_up_ids = _own(session, search)
    weeks = {(team, week) for team, week in session.execute(
        select(Visit.team_id, Visit.week).where(Visit.citizen_ref.in_(refs)).distinct())}
    counts = {
        "follow_ups": len(session.execute(delete(FollowUp).where(
            FollowUp.id.in_(follow_up_ids)).returning(FollowUp.id)).all()),
        # The history of goals moved to or from this citizen names them too.
        "goal_changes": len(session.execute(delete(GoalChange).where(or_(
            GoalChange.goal_id.in_(goal_ids),
            (GoalChange.field == "citizen_ref")
            & or_(GoalChange.old_value.in_(refs), GoalChange.new_value.in_(refs))))
            .returning(GoalChange.id)).all()),
        "goals": len(session.execute(delete(Goal).where(Goal.id.in_(goal_ids))
                                     .returning(Goal.id)).all()),
        "visits": len(session.execute(delete(Visit).where(Visit.citizen_ref.in_(refs))
                                      .returning(Visit.visit_id)).all()),
    }
    mentions = _mentions(session, search, set(), set())
    for _kind, row, field in mentions:
        setattr(row, field, search.redact(getattr(row, field)))
    session.flush()
    counts["texts_redacted"] = len(mentions)
    return counts | {"team_weeks": weeks}


def _row(obj, fields: tuple[str, ...]) -> dict:
    return {f: _text(getattr(obj, f)) if isinstance(getattr(obj, f), (dt.date, dt.datetime))
            else getattr(obj, f) for f in fields}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else \
        moment.replace(tzinfo=dt.timezone.utc)
