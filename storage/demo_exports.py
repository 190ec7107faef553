"""Realistic synthetic exports, in the contract's canonical CSV format.

Used by ``teampuls demo`` and by the benchmarks. Calibrated to Danish home-care teams: 10–14
staff, 50–90 citizens, sick leave around 8–9 % with a winter rise, in spells of days to weeks
and some long-term ones (see ``SICK_ONSET``), temps covering part of the sick hours (3–8 %),
productivity near the 60–65 % band, and each citizen seen mostly by a small group of carers
(4–10 carers per 14 days).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from storage.csv_output import write_csv

PROFESSION_MIX = (("nurse", 0.25), ("sosu_assistant", 0.35), ("sosu_helper", 0.3),
                  ("physio", 0.05), ("ot", 0.05))

DEMO_TEAMS = (
    ("HAD-C", "Haderslev Centrum"), ("HAD-V", "Haderslev Vest"), ("HAD-S", "Haderslev Syd"),
    ("VOJ-N", "Vojens Nord"), ("VOJ-S", "Vojens Syd"), ("GRA", "Gram"),
)


@dataclass(frozen=True)
class DemoShape:
    teams: int = 6
    weeks: int = 104
    staff: tuple[int, int] = (10, 14)
    citizens: tuple[int, int] = (50, 90)
    # visits per citizen and week, drawn per citizen
    visit_frequencies: tuple[int, ...] = (1, 2, 3, 5, 7, 7, 14, 14, 21)
    pieces: int = 1  # worked days registered as this many rows (split shifts)
    seed: int = 2026


@dataclass
class Exports:
    staff: pd.DataFrame
    hours: pd.DataFrame
    visits: pd.DataFrame
    norms: pd.DataFrame

    def write(self, directory: pathlib.Path) -> list[pathlib.Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for kind in ("staff", "hours", "visits", "norms"):
            path = directory / f"{kind}.csv"
            write_csv(getattr(self, kind), path, float_format="%.2f")
            paths.append(path)
        return paths


def team_codes(count: int) -> list[tuple[str, str]]:
    if count <= len(DEMO_TEAMS):
        return list(DEMO_TEAMS[:count])
    return [(f"T{i:04d}", f"Team {i}") for i in range(1, count + 1)]


def generate(last_week_monday: dt.date, shape: DemoShape = DemoShape()) -> Exports:
    """Exports for ``shape.teams`` teams over ``shape.weeks`` weeks ending with the week that
    starts on ``last_week_monday``."""
    rng = np.random.default_rng(shape.seed)
    first = last_week_monday - dt.timedelta(weeks=shape.weeks - 1)
    days = np.array([first + dt.timedelta(days=i) for i in range(shape.weeks * 7)])
    parts = [_team(rng, index, code, days, shape) for index, (code, _) in
             enumerate(team_codes(shape.teams))]
    return Exports(*(pd.concat([p[i] for p in parts], ignore_index=True) for i in range(4)))


# Sickness, as in Danish municipal home care: sick leave around 8–9 % of contracted hours, a
# tenth higher in winter than in summer. A spell begins on a working day with the chance below,
# scaled by the season, by how prone each person is and by the team's slowly drifting level
# (workload, a cold going round), so a team's weeks follow one another. Most spells last a day
# or two, some one to two weeks, and a few are long-term (three to ten weeks): these carry about
# a quarter of the days. (Small teams are noisy all the same: with 10–14 people a single week
# runs from about 2 % to 20 %, and the median of six teams from about 3 % to 17 %.)
SICK_ONSET = 0.053  # a working day, for an average person in an average week
SEASON = 0.15  # the winter rise and the summer dip, relative; highest at the end of January
SHORT_SPELL, MEDIUM_SPELL, LONG_SPELL = 0.75, (4, 15), (21, 71)  # geometric p; day ranges
SPELL_MIX = (0.965, 0.023)  # the shares of short and of medium spells; the rest long-term
LONG_SPELL_AT_START = 0.035  # the share of staff already on a long spell when the data begin
PRONENESS = 4.0  # the shape of the gamma distribution of how prone people are (mean 1)
DRIFT = 0.05  # the weekly change of a team's level (log scale), remembered at 0.85 a week


def _sick_onsets(rng, day_of_year: np.ndarray, n_staff: int) -> np.ndarray:
    """The chance that each person falls ill on each day, (staff, days)."""
    n_days = day_of_year.size
    season = 1 + SEASON * np.cos(2 * np.pi * (day_of_year - 30) / 365.25)
    level, drift = rng.normal(0, 0.1), np.empty(-(-n_days // 7))
    for week in range(drift.size):  # a team's level from week to week, with a memory
        level = 0.85 * level + rng.normal(0, DRIFT)
        drift[week] = level
    team = rng.uniform(0.85, 1.15) * season * np.exp(np.repeat(drift, 7)[:n_days])
    proneness = rng.gamma(PRONENESS, 1 / PRONENESS, size=n_staff)  # mean 1: some are ill more often
    return SICK_ONSET * proneness[:, None] * team[None, :]


def _spell_length(rng) -> int:
    kind = rng.random()
    if kind < SPELL_MIX[0]:
        return int(rng.geometric(SHORT_SPELL))
    if kind < SPELL_MIX[0] + SPELL_MIX[1]:
        return int(rng.integers(*MEDIUM_SPELL))
    return int(rng.integers(*LONG_SPELL))


def _team(rng, index: int, code: str, days: np.ndarray, shape: DemoShape):
    n_days = len(days)
    day_of_year = np.array([d.timetuple().tm_yday for d in days])
    weekday = np.array([d.weekday() for d in days])

    # -- staff: a core team, and a few who leave and are replaced --------------------------
    n_staff = int(rng.integers(shape.staff[0], shape.staff[1] + 1))
    professions = rng.choice([p for p, _ in PROFESSION_MIX], size=n_staff,
                             p=[w for _, w in PROFESSION_MIX])
    contracted = rng.choice([28.0, 30.0, 32.0, 34.0, 37.0], size=n_staff, p=[.2, .2, .2, .1, .3])
    staff_rows = []
    # who holds each seat on each day (employee number), turnover creates new employees
    holder = np.zeros((n_staff, n_days), dtype=np.int64)
    next_id = n_staff
    for seat in range(n_staff):
        start = days[0] - dt.timedelta(days=int(rng.integers(60, 2000)))
        current, current_start = seat, start
        if rng.random() < 0.25 and n_days > 60:  # this seat changes hands once
            change = int(rng.integers(30, n_days - 14))
            end = days[change - 1]
            staff_rows.append((f"{code}-E{current:02d}", code, professions[seat],
                               contracted[seat], current_start, end))
            holder[seat, :change] = current
            current, current_start = next_id, days[change]
            next_id += 1
            holder[seat, change:] = current
        else:
            holder[seat, :] = current
        staff_rows.append((f"{code}-E{current:02d}", code, professions[seat], contracted[seat],
                           current_start, None))

    # -- each seat's days: a 5-of-7 rota, sickness, vacation, courses -----------------------
    offsets = rng.integers(0, 7, size=n_staff)
    on_rota = ((weekday[None, :] - offsets[:, None]) % 7) < 5
    planned = np.repeat((contracted / 5.0)[:, None], n_days, axis=1)
    onset = _sick_onsets(rng, day_of_year, n_staff)
    status = np.zeros((n_staff, n_days), dtype=np.int8)  # 0 work, 1 sick, 2 vacation, 3 course,
    for seat in range(n_staff):                            # 4 child sick
        if rng.random() < LONG_SPELL_AT_START:  # already away on a long spell when the data begin
            status[seat, :int(rng.integers(1, LONG_SPELL[1]))] = 1
        # one falls ill on a working day (a day off is not reported)
        starts = np.flatnonzero((rng.random(n_days) < onset[seat]) & on_rota[seat])
        free_from = 0
        for day in starts:
            if day < free_from or status[seat, day]:
                continue
            length = _spell_length(rng)
            status[seat, day:day + length] = 1
            free_from = day + length + 1  # a sick spell is followed by at least one other day
        # three summer weeks a year, in one of three staggered slots so the team stays staffed
        slot_start = 182 + 21 * (seat % 3)
        summer = (day_of_year >= slot_start) & (day_of_year < slot_start + 21)
        status[seat] = np.where(summer & (status[seat] != 1), 2, status[seat])
        for _ in range(max(1, n_days // 120)):
            d = int(rng.integers(0, n_days))
            if status[seat, d] == 0:
                status[seat, d] = 3 if rng.random() < 0.6 else 4
    working = on_rota & (status == 0)
    hours_worked = np.round(planned * rng.normal(1.0, 0.06, size=planned.shape), 2)

    kinds = {0: "worked", 1: "sick", 2: "vacation", 3: "course", 4: "child_sick"}
    seat_idx, day_idx = np.nonzero(on_rota)
    hour_rows = pd.DataFrame({
        "employee_id": [f"{code}-E{h:02d}" for h in holder[seat_idx, day_idx]],
        "team": code,
        "date": days[day_idx],
        "kind": [kinds[s] for s in status[seat_idx, day_idx]],
        "hours": np.where(status[seat_idx, day_idx] == 0, hours_worked[seat_idx, day_idx],
                          np.round(planned[seat_idx, day_idx], 2)),
        "profession": "",
    })
    if shape.pieces > 1:  # split shifts: the day's hours in several rows that add up
        worked = hour_rows[hour_rows["kind"] == "worked"]
        part = np.round(worked["hours"] / shape.pieces, 2)
        extra = [worked.assign(hours=part)] * (shape.pieces - 1)
        hour_rows.loc[worked.index, "hours"] = np.round(
            worked["hours"] - part * (shape.pieces - 1), 2)
        hour_rows = pd.concat([hour_rows, *extra], ignore_index=True)

    # temps cover part of the sick hours, and some of the vacation, on the same day
    sick_hours = np.where(on_rota & (status == 1), planned, 0.0).sum(axis=0)
    away_hours = np.where(on_rota & (status == 2), planned, 0.0).sum(axis=0)
    temp_hours = np.round(sick_hours * rng.uniform(0.25, 0.5) + away_hours * 0.1 + rng.choice(
        [0.0, 7.5], size=n_days, p=[0.9, 0.1]), 2)
    # one temp row per shift of at most 7.5 hours
    temp_days = np.flatnonzero(temp_hours > 0)
    shifts = np.ceil(temp_hours[temp_days] / 7.5).astype(np.int64)
    shift_day = np.repeat(temp_days, shifts)
    shift_no = np.arange(shift_day.size) - np.repeat(np.cumsum(shifts) - shifts, shifts)
    temp_rows = pd.DataFrame({
        "employee_id": [f"VIK-{code}-{int(n)}" for n in shift_no], "team": code,
        "date": days[shift_day], "kind": "temp",
        "hours": np.round(temp_hours[shift_day] / np.repeat(shifts, shifts), 2),
        "profession": "sosu_helper",
    })

    # -- citizens and visits ----------------------------------------------------------------
    n_cit = int(rng.integers(shape.citizens[0], shape.citizens[1] + 1))
    frequency = rng.choice(shape.visit_frequencies, size=n_cit)
    base_minutes = rng.choice([15, 20, 25, 30, 45, 60], size=n_cit)
    primary = np.array([rng.choice(n_staff, size=4, replace=False) for _ in range(n_cit)])
    productivity = rng.uniform(0.59, 0.66)
    refs = np.array([f"B-{index:03d}{i:03d}" for i in range(n_cit)])

    paid_per_day = (hours_worked * working).sum(axis=0) + temp_hours
    visit_parts = []
    for d in range(n_days):
        # visits per day: frequency 7 -> daily, 14 -> twice daily, 1-5 -> on some days
        count = frequency // 7 + (rng.random(n_cit) < (frequency % 7) / 7.0)
        if not count.any():
            continue
        cit = np.repeat(np.arange(n_cit), count)
        workers = np.flatnonzero(working[:, d])
        if workers.size == 0:
            continue
        carers = primary[cit, rng.integers(0, 4, size=cit.size)]
        available = working[carers, d] & (rng.random(cit.size) < 0.75)
        carers = np.where(available, carers, rng.choice(workers, size=cit.size))
        visit_parts.append((d, cit, holder[carers, d]))

    # scale minutes per week so that client hours are the team's productivity of paid hours
    rows_day = np.concatenate([np.full(c.size, d) for d, c, _ in visit_parts])
    rows_cit = np.concatenate([c for _, c, _ in visit_parts])
    rows_emp = np.concatenate([e for _, _, e in visit_parts])
    raw_minutes = base_minutes[rows_cit].astype(float)
    week_of = rows_day // 7
    target = np.bincount(np.arange(n_days) // 7, weights=paid_per_day) * 60 * np.clip(
        rng.normal(productivity, 0.02, size=n_days // 7), 0.45, 0.8)
    have = np.bincount(week_of, weights=raw_minutes, minlength=n_days // 7)
    scale = np.divide(target, have, out=np.ones_like(target), where=have > 0)
    minutes = np.maximum(5, np.round(raw_minutes * scale[week_of])).astype(np.int64)
    cancelled = rng.random(rows_day.size) < 0.03
    visits = pd.DataFrame({
        "visit_id": [f"{code}-V{i:07d}" for i in range(rows_day.size)],
        "team": code,
        "citizen_ref": refs[rows_cit],
        "employee_id": [f"{code}-E{e:02d}" for e in rows_emp],
        "date": days[rows_day],
        "minutes": minutes,
        "status": np.where(cancelled, "cancelled", "delivered"),
    })

    staff = pd.DataFrame(staff_rows, columns=["employee_id", "team", "profession",
                                              "contracted_hours", "start_date", "end_date"])
    norms_rows = []
    for profession in sorted(set(professions)):
        total = contracted[professions == profession].sum()
        for valid_from, factor in ((days[0] - dt.timedelta(days=180), 1.0),
                                   (days[n_days // 2], rng.uniform(0.95, 1.08))):
            norms_rows.append((code, profession, valid_from, round(total * factor, 1)))
    norms = pd.DataFrame(norms_rows, columns=["team", "profession", "valid_from",
                                              "hours_per_week"])
    hours = pd.concat([hour_rows, temp_rows], ignore_index=True).sort_values(
        ["date", "employee_id"], kind="stable")
    return staff, hours, visits, norms


DEMO_MARK = "demo"  # the key of the ``meta`` row that marks a demo database


def mark_demo(session, description: str) -> None:
    """Mark the database as made by ``teampuls demo`` (so that a later demo may replace it)."""
    from storage.models import Meta

    session.merge(Meta(key=DEMO_MARK, value=description[:200]))


def is_demo_database(path: pathlib.Path) -> bool:
    """True when the SQLite file at ``path`` carries the demo mark. Read without changing
    anything (no upgrade, no WAL set-up); a file that is not a teampuls database is not one."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return row is not None
