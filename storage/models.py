"""The tables of teampuls, as typed SQLAlchemy 2 models.

Dates of rows are local dates; every row that belongs to a week also stores that week's index
(``metrics.weeks.week_index``) so that aggregation per week is one indexed integer comparison.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ROLES = ("coach", "rapporter", "back_office")


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None: the default of the settings.
    language: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # When the weekly dashboard is posted, in the team's time zone; None: Monday, 07:00.
    post_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 Monday ... 6 Sunday
    post_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM
    # The team's morning: reminders of follow-ups go out from then on; None: 07:00.
    morning_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM

    channels: Mapped[list[TeamChannel]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamChannel.channel_id")
    roles: Mapped[list[TeamRole]] = relationship(
        back_populates="team", cascade="all, delete-orphan",
        order_by="(TeamRole.role, TeamRole.user_id)")

    def members_with(self, role: str) -> list[str]:
        return [r.user_id for r in self.roles if r.role == role]


class TeamChannel(Base):
    """A Slack channel linked to a team; its members are the team's members."""

    __tablename__ = "team_channels"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)

    team: Mapped[Team] = relationship(back_populates="channels")


class ChannelMember(Base):
    """A member of a team's linked channel, kept in step with Slack by the bot: the members of
    a team's channels are the team's members."""

    __tablename__ = "channel_members"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("team_channels.channel_id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class TeamRole(Base):
    """A Slack user with a role (coach, rapporter, back_office) for a team."""

    __tablename__ = "team_roles"
    __table_args__ = (CheckConstraint("role IN ('coach', 'rapporter', 'back_office')",
                                      name="role_known"),)

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    team: Mapped[Team] = relationship(back_populates="roles")


class Staff(Base):
    """One employment period; the key is (employee_id, start_date)."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("employee_id", "start_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    profession: Mapped[str] = mapped_column(String(16))
    contracted_hours: Mapped[float] = mapped_column(Float)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    start_week: Mapped[int] = mapped_column(Integer)
    end_week: Mapped[int | None] = mapped_column(Integer)


class HoursRow(Base):
    """A time registration; a file replaces every row of the (team, date) pairs it contains."""

    __tablename__ = "hours"
    # On SQLite an import's swap gives the indexes of hours and visits a second name every other
    # time (storage.shadow.index_names): a migration that changes them handles both.
    __table_args__ = (
        Index("ix_hours_team_date", "team_id", "date"),
        Index("ix_hours_team_week", "team_id", "week"),
        Index("ix_hours_employee_date", "employee_id", "date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    week: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    hours: Mapped[float] = mapped_column(Float)
    profession: Mapped[str | None] = mapped_column(String(16))


class Visit(Base):
    """A visit; on SQLite the table is WITHOUT ROWID: its rows live in the key's B-tree."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_team_week", "team_id", "week"),
                      {"sqlite_with_rowid": False})

    visit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    citizen_ref: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    week: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))


class Norm(Base):
    """Budgeted hours per week for a team and profession, from valid_from until the next one."""

    __tablename__ = "norms"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    profession: Mapped[str] = mapped_column(String(16), primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hours_per_week: Mapped[float] = mapped_column(Float)


class TempRuleRow(Base):
    """The back office's guideline for a team's temps (``metrics.capacity.TempRule``): a temp
    share above ``max_share`` for ``weeks`` weeks running is a breach."""

    __tablename__ = "temp_rules"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    max_share: Mapped[float] = mapped_column(Float)
    weeks: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(32))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class KpiValue(Base):
    """One KPI of one team in one week; ``value`` is None where the contract says null.

    ``numerator`` and ``denominator`` keep the parts of ratio KPIs for later statistics.
    A team has rows for exactly the weeks in which it has hours or visits.
    """

    __tablename__ = "kpi_values"
    # Covering: the bot reads a week of every KPI, or a KPI over weeks, from an index alone.
    __table_args__ = (Index("ix_kpi_values_week_kpi", "week", "kpi", "team_id", "value"),
                      Index("ix_kpi_values_kpi_week", "kpi", "week", "team_id", "value"))

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)


class Claimable:
    """The columns of a row that posters claim before they send (``storage.claims``)."""

    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The claiming process (``storage.claims.Claimant``): a claim of a process that is gone
    # from this host is taken over at once instead of after the lease.
    claimed_host: Mapped[str | None] = mapped_column(String(255))
    claimed_pid: Mapped[int | None] = mapped_column(Integer)
    claimed_start: Mapped[str | None] = mapped_column(String(128))


class DashboardDelivery(Claimable, Base):
    """The weekly dashboard of one team and week: claimed before it is posted, so that it is
    posted once (the unique key), and marked with the outcome.

    ``state``: claimed (a poster is at it, since ``claimed_at``), pending (an attempt failed
    for a passing reason; the next one may claim it), sent (``message_ts`` in ``channel_id``),
    skipped (not posted: ``error`` says why, e.g. the grace period passed) or failed (Slack
    refused for good: ``error`` is Slack's error code; the admins were told).
    """

    __tablename__ = "dashboard_deliveries"
    __table_args__ = (
        UniqueConstraint("team_id", "week"),
        CheckConstraint("state IN ('claimed', 'pending', 'sent', 'skipped', 'failed')",
                        name="state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))


class Goal(Base):
    """A citizen's goal, set from their answer to "What matters to you?"; the team's alone.

    Text fields hold health data: they are shown only to the team's members, privately."""

    __tablename__ = "goals"
    __table_args__ = (
        Index("ix_goals_team_state", "team_id", "state"),
        Index("ix_goals_citizen", "citizen_ref"),
        CheckConstraint("state IN ('open', 'done')", name="goal_state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    citizen_ref: Mapped[str] = mapped_column(String(64))
    what_matters: Mapped[str] = mapped_column(Text)
    goal: Mapped[str] = mapped_column(Text)
    follow_up_by: Mapped[str] = mapped_column(String(32))  # Slack user id
    reassess_on: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    changes: Mapped[list[GoalChange]] = relationship(
        back_populates="goal", cascade="all, delete-orphan", order_by="GoalChange.id")


class GoalChange(Base):
    """One change of one field of a goal: who, when, from what to what."""

    __tablename__ = "goal_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    goal: Mapped[Goal] = relationship(back_populates="changes")


class FollowUp(Base):
    """Something a team member agreed to follow up by a date; a goal's reassessment is one
    (``kind`` reassessment, kept in step with the goal)."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_team_state", "team_id", "state"),
        Index("ix_follow_ups_due", "state", "due_on"),
        Index("ix_follow_ups_citizen", "citizen_ref"),
        CheckConstraint("state IN ('open', 'done')", name="follow_up_state_known"),
        CheckConstraint("kind IN ('task', 'reassessment')", name="follow_up_kind_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"),
                                                index=True)
    citizen_ref: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str] = mapped_column(String(32))  # Slack user id
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    done_on_time: Mapped[bool | None] = mapped_column(Boolean)
    # The local date of the last reminder: due ones are reminded once, overdue ones weekly.
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)


class AuditEntry(Base):
    """Who read or changed what, by ids only (never the text); kept six months."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # read, create, update, close, ...
    subject: Mapped[str] = mapped_column(String(16))  # goal, follow_up, citizen, list
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(Integer)


class DriftAlert(Base):
    """A KPI of a team that drifted the worse way (``metrics.drift``): one row per episode."""

    __tablename__ = "drift_alerts"
    __table_args__ = (UniqueConstraint("team_id", "metric", "week"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(32))
    week: Mapped[int] = mapped_column(Integer)  # raised in this week
    start_week: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    current: Mapped[float] = mapped_column(Float)
    spread: Mapped[float] = mapped_column(Float)
    years_by_chance: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AlertMessage(Claimable, Base):
    """An alert told to one coach: claimed before the DM is sent (exactly once, as the weekly
    dashboard), then the coach's answer from the buttons."""

    __tablename__ = "alert_messages"
    __table_args__ = (
        UniqueConstraint("alert_id", "user_id"),
        CheckConstraint("state IN ('claimed', 'pending', 'sent', 'failed')",
                        name="alert_message_state_known"),
        CheckConstraint("feedback IS NULL OR feedback IN ('seen', 'discuss', 'not_useful')",
                        name="alert_feedback_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("drift_alerts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))
    feedback: Mapped[str | None] = mapped_column(String(16))
    feedback_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class JobRun(Claimable, Base):
    """A scheduled job's run for one period (the coaches' digest of a week, say), claimed so
    that it runs once whatever the replicas (``storage.claims``)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))


class KpiVersion(Base):
    """One row whose version every KPI refresh raises in its own transaction: readers that
    cache KPI values (the bot) know from it when their copies are stale."""

    __tablename__ = "kpi_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class ImportRun(Base):
    """A committed import: the digest of its files (their kinds and contents, in order) and
    the ``kpi_version`` it left. The same files again while the version has not moved since
    change nothing, and are not imported again (``storage.importers.runner``)."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    kpi_version: Mapped[int] = mapped_column(BigInteger)
    # The rows it imported, and when it was committed (the database's clock); None for the
    # imports before 0013.
    rows: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.current_timestamp())


class Meta(Base):
    """Facts about the database itself, one row each: ``demo`` marks a database that
    ``teampuls demo`` made (and may make afresh)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
