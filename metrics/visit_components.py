"""The visit KPIs' components per team and week (data contract, section 3), from delivered
visits given per team, week, citizen and employee:

- ``client_minutes``: the minutes of the week's delivered visits;
- ``clients``: the distinct citizens with a delivered visit in the week;
- ``continuity_carers`` and ``continuity_citizens``: over the citizens with at least two
  delivered visits in weeks W-1 and W together, the sum of their distinct carers, and their
  number (continuity is the one divided by the other).

The work goes team by team, so that every key is a small dense integer (a week of the team's
span, a citizen and an employee of the team) and sums are ``numpy.bincount``: millions of
visits take about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The columns of a visit-sums frame: delivered visits of one employee with one citizen of one
# team in one week. A key may repeat (one row per visit, say): its rows add up.
VISIT_SUMS = ("team_id", "week", "citizen_ref", "employee_id", "visits", "minutes")
VISIT_COMPONENTS = ("client_minutes", "clients", "continuity_carers", "continuity_citizens")


def visit_components(sums: pd.DataFrame) -> pd.DataFrame:
    """Columns team_id, week and ``VISIT_COMPONENTS`` for each team's weeks from its first
    week with a row to the week after its last (continuity of W+1 still looks back at W).
    ``citizen_ref`` and ``employee_id`` may be text or integer codes."""
    team = sums["team_id"].to_numpy(dtype=np.int64)
    order = np.argsort(team, kind="stable")
    team = team[order]
    columns = {name: sums[name].to_numpy()[order] for name in VISIT_SUMS[1:]}
    starts = np.flatnonzero(np.r_[True, team[1:] != team[:-1]]) if len(team) else []
    ends = np.r_[starts[1:], len(team)] if len(team) else []
    parts = [_team_components(int(team[start]), {n: c[start:end] for n, c in columns.items()})
             for start, end in zip(starts, ends)]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=np.int64 if name in ("team_id", "week")
                                             else float)
                             for name in ("team_id", "week", *VISIT_COMPONENTS)})
    return pd.concat(parts, ignore_index=True)


def _team_components(team: int, rows: dict[str, np.ndarray]) -> pd.DataFrame:
    first = int(rows["week"].min())
    week = (rows["week"] - first).astype(np.int64)
    n_weeks = int(week.max()) + 2  # and the week after the last
    citizen, citizens = pd.factorize(rows["citizen_ref"])
    employee, employees = pd.factorize(rows["employee_id"])
    n_citizens, n_employees = len(citizens), len(employees)
    visits = rows["visits"].astype(np.float64)

    week_citizen = week * n_citizens + citizen  # < n_weeks * n_citizens
    size = n_weeks * n_citizens
    minutes = np.bincount(week, weights=rows["minutes"].astype(np.float64), minlength=n_weeks)
    visits_of = np.bincount(week_citizen, weights=visits, minlength=size).reshape(n_weeks, -1)
    clients = (visits_of > 0).sum(axis=1)

    # Distinct carers of each citizen in each week, and those who also came the week before.
    carer_keys = _distinct(week_citizen * n_employees + employee, size * n_employees)
    carers_of = np.bincount(carer_keys // n_employees, minlength=size).reshape(n_weeks, -1)
    came_before = carer_keys - n_citizens * n_employees  # the same pair one week earlier
    again = np.isin(came_before, carer_keys, assume_unique=True) & (came_before >= 0)
    both_weeks = np.bincount(carer_keys[again] // n_employees,
                             minlength=size).reshape(n_weeks, -1)

    # The window of week W is weeks W-1 and W.
    window_visits = visits_of.copy()
    window_visits[1:] += visits_of[:-1]
    window_carers = carers_of - both_weeks
    window_carers[1:] += carers_of[:-1]
    eligible = window_visits >= 2
    return pd.DataFrame({
        "team_id": np.full(n_weeks, team, dtype=np.int64),
        "week": np.arange(first, first + n_weeks, dtype=np.int64),
        "client_minutes": minutes,
        "clients": clients.astype(float),
        "continuity_carers": np.where(eligible, window_carers, 0).sum(axis=1).astype(float),
        "continuity_citizens": eligible.sum(axis=1).astype(float),
    })


def _distinct(keys: np.ndarray, bound: int) -> np.ndarray:
    """The distinct values of ``keys`` (all in ``range(bound)``), sorted."""
    if bound > 64 * len(keys) + (1 << 20):
        return np.unique(keys)
    present = np.zeros(bound, dtype=bool)
    present[keys] = True
    return np.flatnonzero(present)
