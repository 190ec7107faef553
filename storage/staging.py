"""Temporary tables that hold one chunk of an import, or the target set of a KPI refresh,
so that replacing and aggregating are set operations inside the database."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Date, Float, Integer, MetaData, String, Table

_metadata = MetaData()


def _temp(name: str, *columns: Column) -> Table:
    return Table(name, _metadata, *columns, prefixes=["TEMPORARY"])


STAGE_VISITS = _temp(
    "stage_visits",
    Column("visit_id", String(64), primary_key=True),
    Column("team_id", Integer), Column("citizen_ref", String(64)),
    Column("employee_id", String(64)), Column("date", Date), Column("week", Integer),
    Column("minutes", Integer), Column("status", String(16)),
)
STAGE_STAFF = _temp(
    "stage_staff",
    Column("employee_id", String(64), primary_key=True), Column("start_date", Date, primary_key=True),
    Column("team_id", Integer), Column("profession", String(16)), Column("contracted_hours", Float),
    Column("end_date", Date), Column("start_week", Integer), Column("end_week", Integer),
)
STAGE_NORMS = _temp(
    "stage_norms",
    Column("team_id", Integer, primary_key=True), Column("profession", String(16), primary_key=True),
    Column("valid_from", Date, primary_key=True), Column("hours_per_week", Float),
)
STAGE_PAIRS = _temp(
    "stage_pairs", Column("team_id", Integer, primary_key=True), Column("date", Date, primary_key=True),
)
STAGE_EMPLOYEES = _temp(
    "stage_employees",
    Column("employee_id", String(64), primary_key=True), Column("min_date", Date),
)
STAGE_TARGETS = _temp(
    "stage_targets", Column("team_id", Integer, primary_key=True), Column("week", Integer, primary_key=True),
)


def create(connection: Connection, table: Table) -> None:
    table.create(connection, checkfirst=True)
    connection.execute(table.delete())


def drop(connection: Connection, table: Table) -> None:
    table.drop(connection, checkfirst=True)
