"""The capacity forecast (metrics.forecast) and ``teampuls forecast``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics import forecast, weeks

FIRST = weeks.parse("2024-W01")


def _series(n: int = 156, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 300 * (1 + 0.1 * np.cos(t / 52.18 * 2 * np.pi) + 0.03 * t / 52) \
        + rng.normal(0, 6, n)


def test_the_forecast_follows_season_and_trend_and_its_intervals_widen():
    values = _series(164)
    history, future = values[:156], values[156:]
    made = forecast.forecast(history, FIRST + np.arange(156), 8)
    assert list(made.weeks) == list(FIRST + 156 + np.arange(8))
    assert np.mean(np.abs(made.mean - future)) < 0.75 * np.mean(
        np.abs(forecast.seasonal_naive(history, 8) - future))
    widths = made.upper - made.lower
    assert np.all(np.diff(widths / made.mean) >= -1e-9) and np.all(made.lower < made.mean)


def test_short_histories_fall_back_without_seasonality():
    values = _series(30)
    values[5] = np.nan
    made = forecast.forecast(values, FIRST + np.arange(30), 4)
    assert np.all(np.isfinite(made.mean)) and np.all(made.upper > made.lower)
    assert np.isnan(forecast.seasonal_naive(values, 4)).all()


def test_forecast_command_writes_the_contracts_rows(cli, tmp_path):
    rows = []
    for team in ("HAD-C", "VOJ-N"):
        for profession in ("nurse", "sosu_assistant"):
            for i, hours in enumerate(_series(110, seed=len(rows))):
                rows.append({"team": team, "profession": profession,
                             "week": weeks.label(FIRST + i), "hours": round(hours, 1)})
    pd.DataFrame(rows).to_csv(tmp_path / "series.csv", index=False)
    result = cli("forecast", tmp_path / "series.csv", "--horizon", "6", "--out",
                 tmp_path / "forecast.csv")
    assert "Forecast 6 weeks of 4 series" in result.output
    out = pd.read_csv(tmp_path / "forecast.csv")
    assert list(out.columns) == ["team", "profession", "week", "forecast", "lower", "upper"]
    assert len(out) == 24 and set(out["week"]) == {weeks.label(FIRST + 110 + h)
                                                   for h in range(6)}
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()


def test_forecast_command_names_bad_lines(cli, tmp_path):
    (tmp_path / "bad.csv").write_text("team,profession,week,hours\nA,nurse,2026-W01,x\n",
                                      encoding="utf-8")
    result = cli("forecast", tmp_path / "bad.csv", "--out", tmp_path / "f.csv", ok=False)
    assert result.exit_code == 1 and "bad.csv:2: column hours: 'x' is not a number" in \
        result.stderr


def test_a_group_that_visits_now_and_then_gets_a_finite_forecast():
    """Weeks without hours (a therapist who comes every other week) once divided by a zero
    seasonal factor: the forecast was NaN."""
    import warnings

    values = np.where(np.arange(120) % 2 == 0, 12.0, 0.0)
    values[::7] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way either
        made = forecast.forecast(values, FIRST + np.arange(120), 8)
    assert np.isfinite(made.mean).all() and np.isfinite(made.upper).all()
    assert (made.lower >= 0).all() and 0 < made.mean.mean() < 12
    factors = forecast.seasonal_profile(_series(), FIRST + np.arange(156))
    assert factors.min() >= forecast.FACTOR_RANGE[0] and factors.max() <= forecast.FACTOR_RANGE[1]
