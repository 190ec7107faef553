"""The coaches' drift detector (metrics.drift) and ``teampuls drift scan``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics import drift, weeks
from metrics.drift_thresholds import count_threshold, level_threshold, years_by_chance

FIRST = weeks.parse("2024-W01")


def _tidy(metric: str, values: np.ndarray) -> pd.DataFrame:
    n_weeks, n_teams = values.shape
    return pd.DataFrame({"team": [f"T{t:02d}" for t in range(n_teams)] * n_weeks,
                         "metric": metric,
                         "week": np.repeat(FIRST + np.arange(n_weeks), n_teams),
                         "value": values.reshape(-1)})


def test_thresholds_are_set_to_the_false_alarm_budget():
    assert level_threshold(0.0) < level_threshold(0.5) < level_threshold(0.8)
    for phi in (0.0, 0.3, 0.6):
        # at the threshold, an alert comes by chance once in 1 / budget years
        assert years_by_chance("level", level_threshold(phi), phi) == pytest.approx(
            1 / drift.BUDGET, rel=0.05)
        assert years_by_chance("level", level_threshold(phi) * 2, phi) > 4 / drift.BUDGET
    rates = np.array([0.05, 0.5, 3.0])
    for rate, h in zip(rates, count_threshold(rates), strict=True):
        # at least as rare as the budget (at very low rates even the least threshold is)
        assert years_by_chance("count", h, rate) >= 0.9 / drift.BUDGET
    assert years_by_chance("count", count_threshold(np.array([0.5]))[0], 0.5) == \
        pytest.approx(1 / drift.BUDGET, rel=0.1)


def test_a_step_in_the_worse_direction_is_caught_and_dated():
    rng = np.random.default_rng(1)
    values = 0.08 + rng.normal(0, 0.01, size=(156, 20))
    values[100:, 3] += 0.02  # sick leave up two standard deviations from week 100
    values[100:, 4] -= 0.02  # down is better: no alert
    # (alerts before week 100 come by chance, at the budget's rate, and are not this test's)
    alerts = [a for a in drift.scan(_tidy("sick_leave", values)) if a.week >= FIRST + 100]
    caught = [a for a in alerts if a.team == "T03"]
    assert caught and FIRST + 100 <= caught[0].week <= FIRST + 106
    assert abs(caught[0].start_week - (FIRST + 100)) <= 2
    assert caught[0].baseline == pytest.approx(0.08, abs=0.004)
    assert caught[0].current == pytest.approx(0.10, abs=0.006)
    assert caught[0].years_by_chance >= 1 / drift.BUDGET
    assert not [a for a in alerts if a.team == "T04"]
    # One alert per episode: the next, if any, after the quiet weeks.
    later = [a.week for a in caught[1:]]
    assert all(w - caught[0].week > drift.QUIET_WEEKS for w in later)


def test_series_without_change_give_few_alerts():
    rng = np.random.default_rng(2)
    values = 0.62 + rng.normal(0, 0.02, size=(156, 100))
    alerts = drift.scan(_tidy("productivity", values))
    years = 100 * (156 - drift.MIN_BASELINE - drift.GUARD_WEEKS) / drift.YEAR
    assert len(alerts) / years < 2 * drift.BUDGET


def test_a_doubled_rate_of_sick_episodes_is_caught():
    rng = np.random.default_rng(3)
    counts = rng.poisson(1.0, size=(156, 30)).astype(float)
    counts[90:, 7] = rng.poisson(2.0, size=66)
    alerts = drift.scan(_tidy("sick_episodes", counts))
    caught = [a for a in alerts if a.team == "T07" and a.week >= FIRST + 90]
    assert caught and caught[0].week < FIRST + 90 + 26


def test_one_off_bursts_of_sick_episodes_are_left_out_but_a_lasting_rise_counts():
    counts = np.ones((80, 3))  # one new episode a week, every week
    counts[60, 1] = counts[62, 1] = 9.0  # two weeks with a flu going through team 1
    counts[60:64, 2] = 3.0  # four weeks of three
    crossings, _info = drift.detect_counts(counts, np.ones_like(counts),
                                           lambda expected: np.full(expected.shape, 1.5))
    assert [(c.column, c.row) for c in crossings] == [(2, 61)]
    # (counted, capped at 3 each, the two bursts would have added up to an alert at row 62)


def test_a_crossing_that_is_not_an_alert_does_not_silence_the_series():
    increments = np.ones((30, 1))
    never = np.zeros((30, 1), dtype=bool)
    dropped = []

    def accept(row, column, start):
        if row < 5:  # e.g. its weeks were not worse on average
            dropped.append(row)
            return False
        return True

    crossings = drift.cusum(increments, np.full((30, 1), 2.5), never, accept=accept)
    assert dropped == [2, 3, 4]
    # The statistic ran on: the alert comes at once, from the same start, not 8 weeks later.
    assert [(c.row, c.start_row) for c in crossings][:2] == [(5, 0), (5 + drift.QUIET_WEEKS + 3,
                                                                      5 + drift.QUIET_WEEKS + 1)]


def test_weeks_without_enough_history_neither_alert_nor_quiet_the_series():
    counts = np.ones((100, 1))
    counts[54:] = 4.0  # a rise while the series has no history yet (watched from row 58)
    watched = (np.arange(100) >= 58)[:, None]
    crossings, _info = drift.detect_counts(counts, np.ones_like(counts),
                                           lambda expected: np.full(expected.shape, 0.5),
                                           watched=watched)
    assert (crossings[0].row, crossings[0].start_row) == (58, 58)
    unwatched, _info = drift.detect_counts(counts, np.ones_like(counts),
                                           lambda expected: np.full(expected.shape, 0.5))
    assert unwatched[0].row < 58  # (which would have quieted it until row 64 or so)


def test_no_alert_stands_on_fewer_weeks_than_min_history():
    rng = np.random.default_rng(5)
    values = rng.normal(0.08, 0.01, (156, 20))
    values[:100, 3] = np.nan  # a team that joined late
    values[110:, 3] += 0.05
    values[60:, 4] += 0.04
    counts = rng.poisson(1.0, size=(156, 20)).astype(float)
    counts[:100, 3] = np.nan
    counts[105:, 3] = rng.poisson(4.0, size=51)
    alerts = drift.scan(pd.concat([_tidy("sick_leave", values), _tidy("sick_episodes", counts)]))
    assert {a.team for a in alerts} >= {"T04"}
    for a in alerts:
        history = (values if a.metric == "sick_leave" else counts)[:a.start_week - FIRST,
                                                                  int(a.team[1:])]
        assert np.isfinite(history).sum() >= drift.MIN_HISTORY, a


def test_drift_scan_writes_the_contracts_alerts(cli, tmp_path):
    rng = np.random.default_rng(4)
    values = 0.05 + rng.normal(0, 0.008, size=(120, 5))
    values[80:, 2] += 0.03
    frame = _tidy("temp_share", values)
    frame["week"] = [weeks.label(w) for w in frame["week"]]
    frame.loc[5, "value"] = np.nan  # a week without a value
    frame.to_csv(tmp_path / "series.csv", index=False)
    result = cli("drift", "scan", tmp_path / "series.csv", "--out", tmp_path / "alerts.csv")
    assert "written to" in result.output
    alerts = pd.read_csv(tmp_path / "alerts.csv")
    assert list(alerts.columns) == ["team", "metric", "week", "direction", "baseline",
                                    "current", "start_week"]
    assert "T02" in set(alerts["team"]) and set(alerts["direction"]) == {"worse"}


def test_drift_scan_names_every_bad_line(cli, tmp_path):
    (tmp_path / "bad.csv").write_text(
        "team,metric,week,value\nA,sick_leave,2026-W47,0.1\nA,sick_leave,2026-W54,0.1\n"
        "A,happiness,2026-W45,x\nA,sick_leave,2026-W47,0.2\n", encoding="utf-8")
    result = cli("drift", "scan", tmp_path / "bad.csv", "--out", tmp_path / "a.csv", ok=False)
    assert result.exit_code == 1
    for expected in ("bad.csv:3: column week", "bad.csv:4: column value: 'x' is not a number",
                     "bad.csv:4: column metric: 'happiness'", "bad.csv:2: the same",
                     "bad.csv:5: the same"):
        assert expected in result.stderr, result.stderr
    assert not (tmp_path / "a.csv").exists()


def test_drift_scan_lists_the_first_errors_and_counts_the_others(cli, tmp_path):
    rows = "".join(f"A,sick_leave,2026-W47,x{i}\n" for i in range(130))  # 130 bad values
    (tmp_path / "bad.csv").write_text("team,metric,week,value\n" + rows, encoding="utf-8")
    result = cli("drift", "scan", tmp_path / "bad.csv", "--out", tmp_path / "a.csv", ok=False)
    listed = [line for line in result.stderr.splitlines() if ": column value:" in line]
    assert len(listed) == 100 and "bad.csv:101: column value" in listed[-1]
    # and the 130 lines with the same team, metric and week: 260 in all, 100 listed
    assert "260 problem(s)" in result.stderr
    assert "… and 160 more errors in 1 file(s)" in result.stderr


def test_temps_that_only_cover_sick_leave_do_not_alert_but_temps_beyond_it_do():
    """Temp share is watched beyond what the same week's sick leave explains: a long-term sick
    spell raises both for weeks (and sick leave is watched by itself); temps creeping up with
    sick leave as usual is what the coach hears of."""
    rng = np.random.default_rng(3)
    n_weeks, n_teams = 156, 40
    sick = 0.08 + rng.normal(0, 0.01, (n_weeks, n_teams))
    sick[100:116, 0] += 0.08  # team T00: a long-term spell of one colleague in twelve
    temps = 0.05 + 0.5 * (sick - 0.08) + rng.normal(0, 0.004, (n_weeks, n_teams))
    temps[100:, 1] += 0.02  # team T01: temps creep up with no more sickness
    frame = pd.concat([_tidy("sick_leave", sick), _tidy("temp_share", temps)])
    temp_alerts = {a.team for a in drift.scan(frame) if a.metric == "temp_share"}
    assert "T01" in temp_alerts and "T00" not in temp_alerts
    alone = {a.team for a in drift.scan(_tidy("temp_share", temps)) if a.metric == "temp_share"}
    assert "T00" in alone  # without sick leave beside it, the spell looks like temps creeping
    # The panel's relation is learned: temps follow sick leave at about 0.5 of its spread.
    z_temps, _ = drift.expanding_standardized(temps)
    z_sick, _ = drift.expanding_standardized(sick)
    _explained, beta = drift.relations(z_temps, [z_sick])
    assert beta[-1][0] > 0.5 and abs(beta[-1][1]) < 0.1  # the same week's, not last week's


def _sickness_and_temps(rng, n_weeks=156, n_teams=40, lag=0):
    sick = 0.08 + rng.normal(0, 0.01, (n_weeks, n_teams))
    before = np.vstack([sick[:lag], sick[:n_weeks - lag]]) if lag else sick
    temps = 0.05 + 0.5 * (before - 0.08) + rng.normal(0, 0.004, (n_weeks, n_teams))
    return sick, temps


def test_temps_following_last_weeks_sick_leave_are_learned_as_such():
    """Temps booked a week after the sickness they cover: the lag is the panel's to say."""
    sick, temps = _sickness_and_temps(np.random.default_rng(8), lag=1)
    z_temps, _ = drift.expanding_standardized(temps)
    z_sick, _ = drift.expanding_standardized(sick)
    _explained, beta = drift.relations(z_temps, [z_sick])
    assert beta[-1][1] > 0.5 and abs(beta[-1][0]) < 0.1
    sick[100:116, 0] += 0.08  # a long-term spell: temps follow a week later, and do not alert
    temps[101:117, 0] += 0.04
    frame = pd.concat([_tidy("sick_leave", sick), _tidy("temp_share", temps)])
    assert "T00" not in {a.team for a in drift.scan(frame) if a.metric == "temp_share"}


def test_an_alert_states_what_was_compared():
    """Temps beyond sick leave rose while sick leave fell further: the raw temp share is lower
    than usual, yet the detector rightly alerts. Its baseline is then what the team's usual
    level and sick leave lead one to expect, and the current level is above it, as the alert
    says (it showed the raw usual level above the current one: 'risen', yet lower)."""
    sick, temps = _sickness_and_temps(np.random.default_rng(9))
    sick[100:, 1] -= 0.04  # sick leave halves ...
    temps[100:, 1] += 0.5 * -0.04 + 0.015  # ... temps fall less than that explains
    frame = pd.concat([_tidy("sick_leave", sick), _tidy("temp_share", temps)])
    alerts = [a for a in drift.scan(frame) if a.metric == "temp_share" and a.team == "T01"
              and a.week >= FIRST + 100]
    assert alerts
    first = alerts[0]
    assert first.current < np.median(temps[:100, 1])  # lower than its usual level ...
    assert first.current > first.baseline  # ... and higher than expected, as alerted
    assert first.current - first.baseline == pytest.approx(0.015, abs=0.006)
    for a in drift.scan(frame):  # every alert: worse than its baseline, the way it says
        assert drift.METRICS[a.metric] * (a.current - a.baseline) > 0


def test_no_alert_without_a_baseline_to_stand_on():
    """A team whose data starts late (and one whose first weeks are already high) gets no
    alert dated from before it had 26 weeks of data: the start week had a usual level learned
    from too few weeks, or none."""
    rng = np.random.default_rng(10)
    values = 0.08 + rng.normal(0, 0.01, size=(156, 30))
    values[:90, 5] = np.nan  # a new team, from week 90
    values[112:, 5] += 0.04  # higher from its 23rd week
    values[:30, 6] -= 0.03  # a team whose first weeks were unusually low
    frame = _tidy("sick_leave", values).dropna()
    alerts = drift.scan(frame)
    for a in alerts:
        column = int(a.team[1:])
        history = np.isfinite(values[:a.start_week - FIRST, column]).sum()
        assert history >= 26, (a.team, weeks.label(a.start_week), history)
    assert not [a for a in alerts if a.team == "T05" and a.start_week < FIRST + 90]
