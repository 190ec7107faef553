"""Recompute the stored KPI values of exactly the team-weeks that an import touched.

The hours' sums and sick episodes are aggregated inside the database over a temporary table of
target team-weeks; the visits' components are summed by ``metrics.visit_components`` from
delivered visits per citizen and carer, read from the table. After a first load into empty
tables both are taken from the import itself (``storage.importers.loading``), in memory, while
the database builds the indexes.
The formulas are ``metrics.kpi_compute.compute``. A team has KPI rows for the weeks in which it
has any hours or visits rows; a target week that has none left loses its rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from concurrent.futures import Future

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from metrics.kpi_compute import COMPONENTS, compute
from metrics.visit_components import visit_components
from storage import staging
from storage.bulk import insert_frame
from storage.importers.loading import HoursInHand, Touched, VisitsInHand

_HOURS = """
SELECT t.team_id, t.week,
       SUM(CASE WHEN h.kind = 'worked' THEN h.hours ELSE 0 END) AS worked,
       SUM(CASE WHEN h.kind = 'temp' THEN h.hours ELSE 0 END) AS temp,
       SUM(CASE WHEN h.kind = 'sick' THEN h.hours ELSE 0 END) AS sick,
       COUNT(*) AS hours_rows
FROM stage_targets t JOIN {hours} h ON h.team_id = t.team_id AND h.week = t.week
GROUP BY t.team_id, t.week
"""

# Delivered visits per team, week, citizen and employee, in the target weeks and the weeks
# before them (continuity looks back one week): ``metrics.visit_components`` sums them up.
_VISIT_SUMS = """
SELECT v.team_id, v.week, v.citizen_ref, v.employee_id, COUNT(*) AS visits,
       SUM(v.minutes) AS minutes
FROM (SELECT team_id, week FROM stage_targets UNION SELECT team_id, week - 1 FROM stage_targets) w
JOIN {visits} v ON v.team_id = w.team_id AND v.week = w.week
WHERE v.status = 'delivered'
GROUP BY v.team_id, v.week, v.citizen_ref, v.employee_id
"""

_VISIT_ROWS = """
SELECT t.team_id, t.week, COUNT(*) AS visit_rows
FROM stage_targets t JOIN {visits} v ON v.team_id = t.team_id AND v.week = t.week
GROUP BY t.team_id, t.week
"""

# A sick episode starts on a sick day (a sick row with hours > 0) whose employee's most recent
# earlier date with any hours row, of any kind and team, is not a sick day.
_SICK_EPISODES = """
WITH employees AS (
    SELECT DISTINCT h.employee_id
    FROM {hours} h JOIN stage_targets t ON t.team_id = h.team_id AND t.week = h.week
    WHERE h.kind = 'sick' AND h.hours > 0 AND h.employee_id IS NOT NULL
), days AS (
    SELECT h.employee_id, h.date,
           MAX(CASE WHEN h.kind = 'sick' AND h.hours > 0 THEN 1 ELSE 0 END) AS sick
    FROM {hours} h WHERE h.employee_id IN (SELECT employee_id FROM employees)
    GROUP BY h.employee_id, h.date
), starts AS (
    SELECT employee_id, date FROM (
        SELECT employee_id, date, sick,
               LAG(sick) OVER (PARTITION BY employee_id ORDER BY date) AS previous
        FROM days
    ) ordered
    WHERE sick = 1 AND (previous IS NULL OR previous = 0)
)
SELECT team_id, week, COUNT(*) AS sick_episodes FROM (
    SELECT DISTINCT h.team_id, h.week, h.employee_id, h.date
    FROM {hours} h
    JOIN starts s ON s.employee_id = h.employee_id AND s.date = h.date
    JOIN stage_targets t ON t.team_id = h.team_id AND t.week = h.week
    WHERE h.kind = 'sick' AND h.hours > 0
) episode
GROUP BY team_id, week
"""

_CONTRACTED = """
SELECT s.team_id, s.contracted_hours, s.start_week, s.end_week FROM staff s
WHERE s.team_id IN (SELECT DISTINCT team_id FROM stage_targets)
"""


_NO_END = 10**7  # a week index far beyond any real date (year 9999 is 521,549)


def _frame(connection: Connection, sql: str, visits: str = "visits",
           hours: str = "hours") -> pd.DataFrame:
    result = connection.execute(text(sql.replace("{visits}", visits).replace("{hours}", hours)))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def targets_of(connection: Connection, touched: Touched, hours: str = "hours",
               employee_targets: set[tuple[int, int]] | None = None) -> set[tuple[int, int]]:
    """Every team-week whose KPI values the touched rows can change; ``hours`` is the table
    that holds the hours (a shadow before an import's final transaction); with
    ``employee_targets`` (``Ready``) the hours are not read."""
    targets = set(touched.team_weeks)
    # per team: [first week, last week, open-ended?] over all touched periods
    ranges: dict[int, list] = defaultdict(lambda: [None, None, False])
    for team_id, first, last in touched.staff_ranges:
        span = ranges[team_id]
        span[0] = first if span[0] is None else min(span[0], first)
        if last is None:
            span[2] = True
        else:
            span[1] = last if span[1] is None else max(span[1], last)
    for team_id, (first, last, open_ended) in ranges.items():
        hi = _NO_END if open_ended else last
        targets.update(tuple(row) for row in connection.execute(text(
            "SELECT DISTINCT team_id, week FROM kpi_values WHERE team_id = :team "
            "AND week BETWEEN :lo AND :hi"), {"team": team_id, "lo": first, "hi": hi}))
    if employee_targets is not None:
        targets.update(employee_targets)
    elif touched.employees and touched.hours is None:
        # A changed day can start or end the sick episode of the employee's next day (with
        # every hours row in hand, their team-weeks are all touched already).
        staging.create(connection, staging.STAGE_EMPLOYEES)
        insert_frame(connection, "stage_employees", pd.DataFrame(
            {"employee_id": list(touched.employees), "min_date": list(touched.employees.values())}))
        targets.update(tuple(row) for row in connection.execute(text(
            f"SELECT DISTINCT h.team_id, h.week FROM {hours} h JOIN stage_employees e "
            "ON e.employee_id = h.employee_id WHERE h.date > e.min_date "
            "AND h.kind = 'sick' AND h.hours > 0")))
        staging.drop(connection, staging.STAGE_EMPLOYEES)
    return targets


@dataclass
class Ready:
    """What a refresh reads from visits and hours, read before an import's final transaction
    from the tables it is about to swap in (``read_ahead``), so that the final transaction
    does not hold the write lock while it reads millions of rows: the parts of ``targets``
    (and the weeks before them), and the team-weeks that the touched employees' sick days
    add to the targets."""

    targets: set[tuple[int, int]]
    employee_targets: set[tuple[int, int]]
    visit_parts: tuple[pd.DataFrame, pd.DataFrame] | None
    hour_parts: tuple[pd.DataFrame, pd.DataFrame] | None


def read_ahead(connection: Connection, touched: Touched, visits: str, hours: str) -> Ready:
    """``Ready`` for ``touched``, read through ``connection`` (a transaction that only reads:
    the staged targets are temporary tables) from the tables named ``visits`` and ``hours``
    that hold what the final transaction will swap in."""
    employee_targets = targets_of(connection, Touched(employees=touched.employees,
                                                      hours=touched.hours), hours=hours)
    targets = targets_of(connection, touched, hours=hours, employee_targets=employee_targets)
    staging.create(connection, staging.STAGE_TARGETS)
    insert_frame(connection, "stage_targets", pd.DataFrame(sorted(targets),
                                                           columns=["team_id", "week"]))
    ready = Ready(
        targets, employee_targets,
        None if touched.visits is not None else (
            _frame(connection, _VISIT_SUMS, visits=visits),
            _frame(connection, _VISIT_ROWS, visits=visits)),
        None if touched.hours is not None else (
            _frame(connection, _HOURS, hours=hours),
            _frame(connection, _SICK_EPISODES, hours=hours)))
    staging.drop(connection, staging.STAGE_TARGETS)
    return ready


def refresh(session: Session, touched: Touched,
            while_computing: Callable[[], Future] | None = None,
            ready: Ready | None = None) -> int:
    """Recompute and store the KPIs of every team-week the import touched; returns how many
    team-weeks have values now. ``while_computing`` (see ``refresh_team_weeks``) is called
    in any case. With ``ready``, what it holds is not read again."""
    connection = session.connection()
    targets = targets_of(connection, touched,
                         employee_targets=None if ready is None else ready.employee_targets)
    if not targets:  # norms only: no KPI moves, but what is read beside them (capacity) does
        if while_computing is not None:
            while_computing().result()
        connection.execute(text("UPDATE kpi_version SET version = version + 1"))
        return 0
    return refresh_team_weeks(connection, targets, touched.visits, touched.hours,
                              while_computing, ready)


def refresh_team_weeks(connection: Connection, targets: set[tuple[int, int]],
                       visits: VisitsInHand | None = None, hours: HoursInHand | None = None,
                       while_computing: Callable[[], Future] | None = None,
                       ready: Ready | None = None) -> int:
    """Recompute and store the KPIs of ``targets``. ``visits`` and ``hours`` are every row of
    their tables when the caller has them in hand; else they are read.

    ``while_computing`` is called once everything is read: it may hand the connection to
    another thread (an import builds its indexes) while the KPIs are computed here in
    memory; the future it returns is waited for before the values are written."""
    staging.create(connection, staging.STAGE_TARGETS)
    target_frame = pd.DataFrame(sorted(targets), columns=["team_id", "week"])
    if ready is not None:  # read before the transaction, from the tables it swapped in
        visit_parts, hour_parts = ready.visit_parts, ready.hour_parts
        missing = targets - ready.targets  # staff periods can add targets: read only those
        if missing:
            insert_frame(connection, "stage_targets",
                         pd.DataFrame(sorted(missing), columns=["team_id", "week"]))
            if visit_parts is not None:
                visit_parts = _joined(visit_parts, (_frame(connection, _VISIT_SUMS),
                                                    _frame(connection, _VISIT_ROWS)))
            if hour_parts is not None:
                hour_parts = _joined(hour_parts, (_frame(connection, _HOURS),
                                                  _frame(connection, _SICK_EPISODES)))
            connection.execute(staging.STAGE_TARGETS.delete())
    insert_frame(connection, "stage_targets", target_frame)
    if connection.dialect.name == "postgresql" and (visits is None or hours is None):
        # Temporary tables get no statistics of their own, and a large import leaves the
        # planner's view of visits and hours stale until autovacuum runs after the commit.
        connection.execute(text("ANALYZE stage_targets, visits, hours"))

    if ready is None or (visits is None and visit_parts is None):
        visit_parts = (_frame(connection, _VISIT_SUMS), _frame(connection, _VISIT_ROWS)) \
            if visits is None else None
    if ready is None or (hours is None and hour_parts is None):
        hour_parts = (_frame(connection, _HOURS), _frame(connection, _SICK_EPISODES)) \
            if hours is None else None
    contracted = _frame(connection, _CONTRACTED)
    pending = while_computing() if while_computing is not None else None
    try:
        visit_sums, visit_rows = visit_parts if visits is None else visits.sums()
        hour_sums, sick_episodes = hour_parts if hours is None else hours.sums()
        parts = target_frame
        for part in (hour_sums, visit_components(visit_sums), visit_rows, sick_episodes):
            parts = parts.merge(part, on=["team_id", "week"], how="left")
        parts["contracted"] = _contracted(contracted, target_frame)
        active = (parts["hours_rows"].fillna(0) > 0) | (parts["visit_rows"].fillna(0) > 0)
        components = parts.loc[active, ["team_id", "week", *COMPONENTS]].astype(
            {name: float for name in COMPONENTS}).fillna(0.0)
        values = compute(components)
    finally:
        if pending is not None:
            pending.result()

    connection.execute(text("UPDATE kpi_version SET version = version + 1"))
    connection.execute(text(
        "DELETE FROM kpi_values WHERE EXISTS (SELECT 1 FROM stage_targets t "
        "WHERE t.team_id = kpi_values.team_id AND t.week = kpi_values.week)"))
    values = values.astype({"value": object, "numerator": object, "denominator": object})
    insert_frame(connection, "kpi_values", values.where(values.notna(), None))
    staging.drop(connection, staging.STAGE_TARGETS)
    return int(active.sum())


def _joined(parts: tuple[pd.DataFrame, ...], more: tuple[pd.DataFrame, ...]) -> tuple:
    """Parts read for two sets of targets, each row once (the sets' earlier weeks overlap)."""
    joined = []
    for part, extra in zip(parts, more):
        keys = [c for c in ("team_id", "week", "citizen_ref", "employee_id") if c in part]
        joined.append(pd.concat([part, extra], ignore_index=True).drop_duplicates(subset=keys))
    return tuple(joined)


def _contracted(staff: pd.DataFrame, targets: pd.DataFrame) -> np.ndarray:
    """Sum of contracted hours of staff periods that overlap each target week."""
    if staff.empty:
        return np.zeros(len(targets))
    staff = staff.assign(end_week=staff["end_week"].astype(float).fillna(np.inf))
    pairs = targets.reset_index().merge(staff, on="team_id")
    overlaps = (pairs["start_week"] <= pairs["week"]) & (pairs["end_week"] >= pairs["week"])
    sums = pairs[overlaps].groupby("index")["contracted_hours"].sum()
    return sums.reindex(range(len(targets)), fill_value=0.0).to_numpy()
