"""Forecasts of weekly hours (a team's demand per professional group), with prediction
intervals, for the back office's capacity view and ``teampuls forecast``.

The model, for one weekly series:

1. Yearly seasonality: a multiplicative week-of-year profile, from each week's ratio to the
   centred 52-week moving average, averaged over the years and smoothed over nine weeks
   (Christmas and New Year keep their own); shrunk towards no seasonality when there is
   little more than a year of history, and left out under a year.
2. Level and trend: Holt's linear method with a damped trend on the seasonally adjusted
   series, its smoothing weights chosen from a small grid by one-step-ahead error.
3. A fifth of the forecast is the level-adjusted seasonal naive (each week as a year earlier,
   scaled by the last quarter's change against the same quarter a year before), where there
   are 65 weeks of history: the combination keeps the sharp calendar effects the smoothed
   profile blurs.
4. Intervals: from the spread of the model's own errors at each horizon, measured on the
   history by refitting at earlier origins (so they widen as the horizon grows), scaled by
   the season.

Its yardstick is the seasonal-naive forecast (the same week a year earlier); the evaluation
benchmark reports the ratio of mean absolute errors. Pure functions of arrays; no I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from metrics.weeks import numbers as week_of_year

DAMPING = 0.9
ALPHAS = (0.1, 0.2, 0.35, 0.5)
BETAS = (0.0, 0.05, 0.15)
INTERVAL = 0.8  # the share of outcomes the interval is to hold
MIN_SEASONAL_WEEKS = 60
SMOOTH_WEEKS = 9  # weeks of the moving average that smooths the seasonal profile
HOLIDAY_WEEKS = (52, 1)
MAX_EMPTY_SHARE = 0.1  # weeks without hours above this share: no seasonal profile
FACTOR_RANGE = (0.25, 4.0)  # a week's seasonal factor stays within these
# The share of the level-adjusted seasonal naive in the forecast: it keeps the sharp calendar
# effects (a holiday's own week) that the smoothed profile blurs; a combination of the two
# beats either (0.645 against 0.657 on the evaluation's demand).
NAIVE_WEIGHT = 0.2
Z80 = 1.2816  # the standard normal's 90th percentile: an 80 % central interval


@dataclass(frozen=True)
class Forecast:
    weeks: np.ndarray  # week indexes after the history
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def seasonal_profile(values: np.ndarray, woy: np.ndarray) -> np.ndarray:
    """Multiplicative factors by ISO week number (index 1..53; mean 1 over 1..52)."""
    n = len(values)
    factors = np.ones(54)
    filled = _fill(values)
    # A series with many empty weeks (a group that visits now and then) has no steady
    # multiplicative season: its weeks would divide by zero.
    if n < MIN_SEASONAL_WEEKS or np.mean(filled <= 0) > MAX_EMPTY_SHARE:
        return factors
    trend = np.convolve(filled, np.ones(52) / 52, mode="same")
    edge = 26
    ratio = np.full(n, np.nan)
    ratio[edge:n - edge] = filled[edge:n - edge] / np.maximum(trend[edge:n - edge], 1e-9)
    if n < 52 + 2 * edge:  # under two years: the ratio against the whole mean instead
        ratio = filled / max(np.mean(filled), 1e-9)
    known = np.isfinite(ratio)
    counts = np.bincount(woy[known], minlength=54)
    sums = np.bincount(woy[known], weights=ratio[known], minlength=54)
    raw = np.full(54, np.nan)
    np.divide(sums, counts, out=raw, where=counts > 0)  # the mean ratio of each week number
    core = np.where(np.isfinite(raw[1:53]), raw[1:53], 1.0)
    half = SMOOTH_WEEKS // 2
    padded = np.concatenate([core[-half:], core, core[:half]]) if half else core
    smooth = np.convolve(padded, np.ones(SMOOTH_WEEKS) / SMOOTH_WEEKS, mode="valid")
    # Christmas and New Year are sharp, not seasonal: those weeks keep their own ratio.
    for week in HOLIDAY_WEEKS:
        if np.isfinite(raw[week]) and week <= 52:
            smooth[week - 1] = raw[week]
    smooth /= smooth.mean()
    years = n / 52.18
    weight = min(1.0, max(0.0, (years - 1) / 1.0))  # from none at one year to all at two
    factors[1:53] = 1 + weight * (smooth - 1)
    factors[53] = 1 + weight * (raw[53] - 1) if np.isfinite(raw[53]) else \
        (factors[52] + factors[1]) / 2
    return np.clip(factors, *FACTOR_RANGE)


def _fill(values: np.ndarray) -> np.ndarray:
    """Missing weeks filled by linear interpolation (at the ends, the nearest value)."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    if ok.all():
        return values
    if not ok.any():
        return np.zeros_like(values)
    positions = np.arange(len(values))
    return np.interp(positions, positions[ok], values[ok])


def _holt(series: np.ndarray, alpha, beta):
    """Damped Holt on a series, for one or many (alpha, beta) pairs at once (arrays): the
    last levels and trends, and the one-step errors (time along the first axis)."""
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    if alpha.ndim == 0:  # one pair: plain floats are many times faster than NumPy scalars
        values, alpha, beta = series.tolist(), float(alpha), float(beta)
        level, trend, errors = values[0], 0.0, [0.0] * len(values)
    else:
        values = series
        level, trend = np.full(alpha.shape, series[0]), np.zeros(alpha.shape)
        errors = np.zeros((len(series),) + alpha.shape)
    for t in range(1, len(values)):
        predicted = level + DAMPING * trend
        errors[t] = values[t] - predicted
        new_level = alpha * values[t] + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * DAMPING * trend
        level = new_level
    return level, trend, np.asarray(errors)


_GRID = np.array(list(itertools.product(ALPHAS, BETAS)))


def _ahead(level: float, trend: float, horizon: int) -> np.ndarray:
    steps = np.cumsum(DAMPING ** np.arange(1, horizon + 1))
    return level + steps * trend


def _fit(adjusted: np.ndarray) -> tuple[float, float, float, float]:
    """The (alpha, beta) of the grid with the least one-step squared error, and the last
    level and trend that go with them."""
    warm = min(13, len(adjusted) // 3)
    level, trend, errors = _holt(adjusted, _GRID[:, 0], _GRID[:, 1])
    best = int(np.argmin(np.mean(errors[warm:] ** 2, axis=0)))
    return float(_GRID[best, 0]), float(_GRID[best, 1]), float(level[best]), float(trend[best])


def point_forecast(values: np.ndarray, weeks: np.ndarray, horizon: int,
                   weights: tuple[float, float] | None = None) -> np.ndarray:
    """The model's forecast of the ``horizon`` weeks after ``weeks[-1]`` (``weights``: the
    smoothing weights to use instead of choosing them)."""
    filled = _fill(values)
    woy = week_of_year(weeks)
    factors = seasonal_profile(filled, woy)
    adjusted = filled / factors[woy]
    if weights is None:
        _alpha, _beta, level, trend = _fit(adjusted)
    else:
        level, trend, _errors = _holt(adjusted, *weights)
        level, trend = float(level), float(trend)
    future = weeks[-1] + np.arange(1, horizon + 1)
    model = _ahead(level, trend, horizon) * factors[week_of_year(future)]
    naive = level_adjusted_naive(filled, horizon)
    if naive is not None:
        model = (1 - NAIVE_WEIGHT) * model + NAIVE_WEIGHT * naive
    return np.maximum(model, 0.0)


def level_adjusted_naive(values: np.ndarray, horizon: int) -> np.ndarray | None:
    """The same weeks a year earlier, scaled by how the last 13 weeks compare with the same 13
    weeks a year earlier; None under 65 weeks of history."""
    n = len(values)
    if n < 65 or horizon > 52:
        return None
    year_ago = float(np.mean(values[-65:-52]))
    if year_ago <= 0:
        return None
    return values[n - 52:n - 52 + horizon] * (float(np.mean(values[-13:])) / year_ago)


def _weights(values: np.ndarray, weeks: np.ndarray) -> tuple[float, float]:
    filled = _fill(values)
    woy = week_of_year(weeks)
    alpha, beta, _level, _trend = _fit(filled / seasonal_profile(filled, woy)[woy])
    return alpha, beta


def forecast(values: np.ndarray, weeks: np.ndarray, horizon: int = 8) -> Forecast:
    """Forecast with 80 % intervals. ``weeks`` are consecutive week indexes; ``values`` may
    have gaps (NaN)."""
    if len(values) < 4 or not np.isfinite(values).any():
        raise ValueError("a forecast needs at least four weeks with hours")
    mean = point_forecast(values, weeks, horizon)
    spread = relative_spread(np.asarray(values, dtype=float), weeks, horizon) * mean
    future = weeks[-1] + np.arange(1, horizon + 1)
    return Forecast(future, mean, np.maximum(mean - Z80 * spread, 0.0), mean + Z80 * spread)


def relative_spread(values: np.ndarray, weeks: np.ndarray, horizon: int,
                    origins: int = 26) -> np.ndarray:
    """The root mean square of the model's relative errors at each horizon, from refits at up
    to ``origins`` earlier origins (with the smoothing weights chosen on the whole history)."""
    n = len(values)
    weights = _weights(values, weeks)
    relative: list[list[float]] = [[] for _ in range(horizon)]
    for origin in range(max(26, n - origins - horizon), n - 1):
        ahead = min(horizon, n - origin - 1)
        if ahead <= 0:
            continue
        predicted = point_forecast(values[:origin + 1], weeks[:origin + 1], ahead, weights)
        actual = values[origin + 1:origin + 1 + ahead]
        for h in range(ahead):
            if np.isfinite(actual[h]) and predicted[h] > 0:
                relative[h].append((actual[h] - predicted[h]) / predicted[h])
    spreads = np.array([np.sqrt(np.mean(np.square(r))) if len(r) >= 5 else np.nan
                        for r in relative])
    # Where the history is too short to measure a horizon, grow the last measured spread
    # with the square root of the horizon.
    known = np.flatnonzero(np.isfinite(spreads))
    if known.size == 0:
        level = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
        base = float(np.nanstd(values) / level) if level > 0 else 0.1
        spreads = base * np.sqrt(np.arange(1, horizon + 1))
    else:
        for h in range(horizon):
            if not np.isfinite(spreads[h]):
                last = known[known < h].max() if (known < h).any() else known.min()
                spreads[h] = spreads[last] * np.sqrt((h + 1) / (last + 1))
        spreads = np.maximum.accumulate(spreads)
    return spreads


def seasonal_naive(values: np.ndarray, horizon: int) -> np.ndarray:
    """The yardstick: each week as it was 52 weeks earlier."""
    n = len(values)
    return np.array([values[n - 52 + h] if n - 52 + h >= 0 else np.nan
                     for h in range(horizon)])
