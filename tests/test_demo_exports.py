"""The demo looks like a municipality's home care (issue 20): sick leave per team near 8–9 %,
more in winter, weeks that follow one another, and no team without sickness for a month."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics import weeks


@pytest.fixture(scope="module")
def sick_leave() -> pd.DataFrame:
    """The demo's sick leave per week (rows) and team (columns), by the contract's formula:
    sick hours over the contracted hours of the staff employed in the week."""
    from storage.demo_exports import DemoShape, generate

    last = weeks.week_index(dt.date(2026, 11, 23))
    exports = generate(weeks.monday(last), DemoShape())  # what `teampuls demo` makes
    hours = exports.hours.assign(week=[weeks.week_index(d) for d in exports.hours["date"]])
    sick = hours[hours["kind"] == "sick"].groupby(["week", "team"])["hours"].sum().unstack()
    staff = exports.staff
    start = np.array([weeks.week_index(d) for d in staff["start_date"]])
    end = np.array([weeks.week_index(d) if isinstance(d, dt.date) else 10**9
                    for d in staff["end_date"]])
    every_week = range(last - DemoShape().weeks + 1, last + 1)
    contracted = pd.DataFrame({
        w: staff[(start <= w) & (end >= w)].groupby("team")["contracted_hours"].sum()
        for w in every_week}).T
    return sick.reindex(index=contracted.index, columns=contracted.columns).fillna(0) / contracted


def test_the_demos_weekly_sick_leave_over_teams_is_a_municipalitys(sick_leave):
    median = sick_leave.median(axis=1)
    # six teams of 10-14 people are noisy (one person ill for a week is 1.5-2 %), yet the
    # teams' median never runs to 0 % or past 20 % (it did: 21 % one week, 0 % a month later)
    assert median.between(0.03, 0.18).all(), median.agg(["min", "max"])
    assert median.between(0.05, 0.12).mean() >= 0.75
    assert median.rolling(4).mean().dropna().between(0.04, 0.14).all()
    assert 0.075 <= sick_leave.to_numpy().mean() <= 0.10
    assert sick_leave.mean().between(0.06, 0.15).all(), sick_leave.mean()


def test_the_demos_sick_leave_rises_in_winter_and_follows_from_week_to_week(sick_leave):
    month = np.array([weeks.monday(w).month for w in sick_leave.index])
    winter = sick_leave[np.isin(month, [12, 1, 2])].to_numpy().mean()
    summer = sick_leave[np.isin(month, [6, 7, 8])].to_numpy().mean()
    assert winter > 1.1 * summer
    # spells last days to weeks: a team's week is like its last
    assert np.mean([sick_leave[team].autocorr(1) for team in sick_leave]) > 0.3


def test_no_demo_team_is_without_sickness_for_four_weeks(sick_leave):
    for team in sick_leave:
        healthy = (sick_leave[team] == 0).astype(int)
        runs = healthy.groupby((healthy == 0).cumsum()).sum()
        assert runs.max() < 4, team
