"""Forecasts of weekly hours (a team's demand per professional group), with prediction
intervals, for the back office's capacity view and ``teampuls forecast``.

The model, for one weekly series:

1. Yearly seasonality: a multiplicative week-of-year profile from each week's ratio to the
   centred 52-week moving average (extended along its slope to the ends of the history),
   averaged over the years. The profile is smoothed over nine weeks, robustly: weeks far off
   the smooth curve (summer holidays, Christmas, a school break) are left out of their
   neighbours' smoothing, and each week keeps as much of its own deviation from the curve as
   its years of history show to be real rather than noise (a James-Stein shrinkage: a holiday
   that recurs keeps its own dip, an ordinary week's noise is smoothed away). Easter moves
   between weeks 12 and 17: its week (Maundy Thursday to Easter Sunday) and the week after
   get effects of their own, estimated the same way from the series' past Easters. The
   profile is shrunk towards no seasonality with little more than a year of history, and
   left out under a year or when many weeks have no hours (a group that works rarely).
2. Level and trend: Holt's linear method with a damped trend on the seasonally adjusted
   series.
3. A share of the forecast is the level-adjusted seasonal naive (each week as a year earlier,
   scaled by the last quarter's change against the same quarter a year before), where there
   are 65 weeks of history.
4. The smoothing weights and the seasonal naive's share are chosen together by the mean
   absolute error of 1-8-week forecasts from every earlier origin of the history (a backtest
   computed at once from one pass of Holt's recursion; each target week's own seasonal
   factor is estimated without that week, so the backtest does not see its outcome).
5. Intervals: conformal, from the same backtest: the 10th and 90th percentiles of the
   relative errors at each horizon, in ordinary weeks, and scaled for the weeks with sharp
   calendar effects (holidays, Easter) by how much larger their errors were.

Its yardstick is the seasonal-naive forecast (the same week a year earlier); the evaluation
benchmark (benchmarks/forecast_evaluation.py) reports the ratio of mean absolute errors
beside statsforecast's models. Pure functions of arrays; no I/O.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from dateutil.easter import easter

from metrics import weeks as weekmath
from metrics.weeks import numbers as week_of_year

DAMPING = 0.9
ALPHAS = (0.05, 0.1, 0.2, 0.35, 0.5)
BETAS = (0.0, 0.05, 0.15)
NAIVE_SHARES = (0.0, 0.2, 0.4, 0.6)  # candidate shares of the level-adjusted seasonal naive
INTERVAL = 0.8  # the share of outcomes the interval is to hold
MIN_SEASONAL_WEEKS = 60
NAIVE_WEEKS = 65  # history the level-adjusted seasonal naive needs
SMOOTH_WEEKS = 9  # weeks of the moving average that smooths the seasonal profile
MAX_EMPTY_SHARE = 0.1  # weeks without hours above this share: no seasonal profile
FACTOR_RANGE = (0.25, 4.0)  # a week's seasonal factor stays within these
OUTLIER = 3.0  # a week this many robust deviations off the smooth curve is not smoothed
SHARP = 0.5  # a week keeping over this share of its deviation has a sharp calendar effect
MIN_ERRORS = 8  # backtest errors a horizon's interval needs (else grown from shorter ones)
MIN_SHARP_ERRORS = 8
WARM = 13  # weeks before the backtest's first origin


@dataclass(frozen=True)
class Forecast:
    weeks: np.ndarray  # week indexes after the history
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


# --- the calendar ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _easter_sunday_week(year: int) -> int:
    return weekmath.week_index(easter(year))


def easter_weeks(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the weeks with Easter Sunday (and Maundy Thursday, Good Friday) and of the
    weeks after them (Easter Monday)."""
    index = np.asarray(index)
    first, last = weekmath.monday(int(index.min())).year, weekmath.monday(int(index.max())).year
    sundays = np.array([_easter_sunday_week(y) for y in range(first, last + 1)])
    return np.isin(index, sundays), np.isin(index, sundays + 1)


# --- the season ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Season:
    factors: np.ndarray  # by ISO week number, 1..53
    easter: tuple[float, float]  # relative effects of Easter's week and the week after
    sharp: np.ndarray  # by week number: a sharp calendar effect (holiday)
    loo: np.ndarray  # per week of the history: its factor estimated without that week

    def at(self, index: np.ndarray) -> np.ndarray:
        """The factor of each week index (Easter included)."""
        sunday, after = easter_weeks(index)
        return self.factors[_numbers(index)] * (1 + self.easter[0] * sunday
                                                + self.easter[1] * after)

    def sharp_at(self, index: np.ndarray) -> np.ndarray:
        """Whether each week index has a sharp calendar effect (Easter included)."""
        sunday, after = easter_weeks(index)
        return self.sharp[_numbers(index)] | sunday | after


def _numbers(index: np.ndarray) -> np.ndarray:
    """ISO week numbers of an array of week indexes of any shape."""
    index = np.asarray(index)
    return week_of_year(index.ravel()).reshape(index.shape)


def _flat(n: int) -> Season:
    return Season(np.ones(54), (0.0, 0.0), np.zeros(54, bool), np.ones(n))


def _circular_smooth(core: np.ndarray) -> np.ndarray:
    half = SMOOTH_WEEKS // 2
    padded = np.concatenate([core[-half:], core, core[:half]])
    return np.convolve(padded, np.ones(SMOOTH_WEEKS) / SMOOTH_WEEKS, mode="valid")


def _moving_trend(filled: np.ndarray) -> np.ndarray:
    """The centred 52-week moving average, extended at each end along the slope of its last
    (first) half year."""
    n = len(filled)
    cumulative = np.concatenate([[0.0], np.cumsum(filled)])
    trend = np.full(n, np.nan)
    centre = np.arange(26, n - 25)
    trend[centre] = (cumulative[centre + 26] - cumulative[centre - 26]) / 52
    if centre.size < 2:
        return np.full(n, max(float(np.mean(filled)), 1e-9))
    span = min(26, centre.size - 1)
    head, tail = centre[0], centre[-1]
    slope_head = (trend[head + span] - trend[head]) / span
    slope_tail = (trend[tail] - trend[tail - span]) / span
    trend[:head] = trend[head] + slope_head * (np.arange(head) - head)
    trend[tail + 1:] = trend[tail] + slope_tail * (np.arange(tail + 1, n) - tail)
    return np.maximum(trend, 1e-9 + 0.1 * max(float(np.mean(filled)), 0.0))


def _shrink(deviation: np.ndarray, count: np.ndarray, noise: float) -> np.ndarray:
    """The share of each deviation to keep (positive-part James-Stein)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = 1 - noise / (np.maximum(count, 1) * deviation ** 2)
    return np.where((count > 0) & np.isfinite(keep), np.clip(keep, 0.0, 1.0), 0.0)


def season(filled: np.ndarray, index: np.ndarray) -> Season:
    """The multiplicative season of a gap-free series (see the module's description)."""
    n = len(filled)
    if n < MIN_SEASONAL_WEEKS or np.mean(filled <= 0) > MAX_EMPTY_SHARE:
        return _flat(n)
    woy = week_of_year(index)
    sunday, after = easter_weeks(index)
    ratio = filled / _moving_trend(filled)
    ordinary = ~(sunday | after)
    counts = np.bincount(woy[ordinary], minlength=54).astype(float)
    sums = np.bincount(woy[ordinary], weights=ratio[ordinary], minlength=54)
    raw = np.divide(sums, counts, out=np.full(54, np.nan), where=counts > 0)
    core = np.where(np.isfinite(raw[1:53]), raw[1:53], np.nan)
    core = np.where(np.isfinite(core), core, np.nanmean(core))
    smooth = _circular_smooth(core)
    for _ in range(2):  # sharp weeks out of their neighbours' smoothing
        deviation = core - smooth
        scale = 1.4826 * np.median(np.abs(deviation)) + 1e-9
        smooth = _circular_smooth(np.where(np.abs(deviation) > OUTLIER * scale, smooth, core))
    smooth54 = np.concatenate([[1.0], smooth, [(smooth[-1] + smooth[0]) / 2]])
    deviation = raw - smooth54
    # the noise of one year's ratio, from the ordinary weeks' deviations (a week with m years
    # deviates by noise/m); the median of a chi-square with one degree of freedom is 0.455
    scaled = (deviation ** 2 * counts)[1:53]
    noise = float(np.median(scaled[np.isfinite(scaled)]) / 0.455) if np.isfinite(
        scaled).any() else 0.0
    keep = _shrink(deviation, counts, noise)
    deviation = np.where(np.isfinite(deviation), deviation, 0.0)
    factors = smooth54 + keep * deviation
    norm = factors[1:53].mean()
    years = n / 52.18
    weight = min(1.0, max(0.0, years - 1.0))  # from none at one year to all at two

    def finish(f):
        return np.clip(1 + weight * (f / norm - 1), *FACTOR_RANGE)

    # each week's factor without its own ratio: for the backtest, which must not see it
    own = woy
    rest = counts[own] - ordinary
    loo_raw = np.divide(sums[own] - ratio * ordinary, rest, out=np.full(n, np.nan),
                        where=rest > 0)
    loo_dev = loo_raw - smooth54[own]
    loo = smooth54[own] + _shrink(loo_dev, rest, noise) * np.where(np.isfinite(loo_dev),
                                                                   loo_dev, 0.0)
    loo = finish(loo)
    out = finish(factors)
    # Easter: each week's ratio against its week's factor, the same shrinkage
    effects = []
    for mask in (sunday, after):
        relative = ratio[mask] / factors[woy[mask]] - 1
        m = relative.size
        effect = float(relative.mean()) if m else 0.0
        effect *= float(_shrink(np.array([effect]), np.array([m]), noise)[0])
        effects.append(weight * effect)
        if m > 1:  # the backtest's Easter without its own year
            own_out = (relative.sum() - relative) / (m - 1)
            own_out = own_out * _shrink(own_out, np.full(m, m - 1), noise)
            loo[mask] *= 1 + weight * own_out
    sharp = keep > SHARP
    return Season(out, (effects[0], effects[1]), sharp, loo)


def seasonal_profile(values: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """Multiplicative factors by ISO week number (index 1..53; Easter apart) of a history
    with gaps (NaN) and consecutive week indexes ``weeks``."""
    return season(_fill(values), np.asarray(weeks)).factors


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


# --- level and trend -------------------------------------------------------------------------

_GRID = np.array(list(itertools.product(ALPHAS, BETAS)))


def _holt_states(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Damped Holt's level and trend after each week, for every (alpha, beta) of the grid at
    once: arrays (weeks, grid)."""
    alpha, beta = _GRID[:, 0], _GRID[:, 1]
    n = len(series)
    levels, trends = np.empty((n, len(_GRID))), np.empty((n, len(_GRID)))
    level, trend = np.full(len(_GRID), series[0]), np.zeros(len(_GRID))
    levels[0], trends[0] = level, trend
    for t in range(1, n):
        predicted = level + DAMPING * trend
        new_level = alpha * series[t] + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * DAMPING * trend
        level = new_level
        levels[t], trends[t] = level, trend
    return levels, trends


def _steps(horizon: int) -> np.ndarray:
    return np.cumsum(DAMPING ** np.arange(1, horizon + 1))


def _naive_ratio(filled: np.ndarray) -> np.ndarray:
    """Per origin t, the last 13 weeks' mean over the same 13 weeks a year earlier (NaN where
    there is not enough history or the year before was empty)."""
    n = len(filled)
    cumulative = np.concatenate([[0.0], np.cumsum(filled)])
    out = np.full(n, np.nan)
    t = np.arange(NAIVE_WEEKS - 1, n)
    recent = cumulative[t + 1] - cumulative[t - 12]
    year_ago = cumulative[t - 51] - cumulative[t - 64]
    out[t] = np.divide(recent, year_ago, out=np.full(t.size, np.nan), where=year_ago > 0)
    return out


@dataclass(frozen=True)
class _Model:
    grid: int  # the chosen (alpha, beta)
    share: float  # the level-adjusted seasonal naive's share
    relative_errors: np.ndarray  # backtest (origins, horizon): (actual - forecast) / forecast
    sharp_target: np.ndarray  # backtest (origins, horizon): the target week is sharp


def _backtest(filled: np.ndarray, index: np.ndarray, sea: Season, levels: np.ndarray,
              trends: np.ndarray, horizon: int) -> _Model:
    n = len(filled)
    origins = np.arange(min(WARM, n - 2), n - 1)
    targets = origins[:, None] + np.arange(1, horizon + 1)[None, :]  # (O, H)
    valid = targets < n
    targets_c = np.minimum(targets, n - 1)
    actual = filled[targets_c]
    factor = sea.loo[targets_c]  # (O, H)
    holt = (levels[origins][:, None, :] + trends[origins][:, None, :]
            * _steps(horizon)[None, :, None]) * factor[:, :, None]  # (O, H, G)
    ratio = _naive_ratio(filled)[origins]  # (O,)
    naive = filled[np.maximum(targets_c - 52, 0)] * ratio[:, None]
    has_naive = valid & np.isfinite(naive) & (targets - 52 >= 0)
    shares = NAIVE_SHARES if has_naive.sum() >= 4 * horizon else (0.0,)
    scored = has_naive if len(shares) > 1 else valid
    if not scored.any():
        scored = valid
    best = (np.inf, 0, 0.0)
    for share in shares:
        blend = holt if share == 0 else (1 - share) * holt + share * np.where(
            has_naive, naive, 0.0)[:, :, None]
        error = np.abs(actual[:, :, None] - np.maximum(blend, 0.0))[scored].mean(axis=0)
        g = int(np.argmin(error))
        if error[g] < best[0] - 1e-12:
            best = (float(error[g]), g, share)
    _error, g, share = best
    point = holt[:, :, g]
    if share:
        point = np.where(has_naive, (1 - share) * point + share * np.where(has_naive, naive, 0),
                         point)
    point = np.maximum(point, 0.0)
    relative = np.divide(actual - point, point, out=np.full(point.shape, np.nan),
                         where=valid & (point > 0))
    return _Model(g, share, relative, sea.sharp_at(index[targets_c]) & valid)


def point_forecast(values: np.ndarray, weeks: np.ndarray, horizon: int) -> np.ndarray:
    """The model's forecast of the ``horizon`` weeks after ``weeks[-1]``."""
    return _forecast(values, weeks, horizon)[0]


def _forecast(values: np.ndarray, weeks: np.ndarray, horizon: int):
    filled = _fill(values)
    weeks = np.asarray(weeks)
    sea = season(filled, weeks)
    levels, trends = _holt_states(filled / sea.at(weeks))
    model = _backtest(filled, weeks, sea, levels, trends, horizon)
    future = weeks[-1] + np.arange(1, horizon + 1)
    mean = (levels[-1, model.grid] + trends[-1, model.grid] * _steps(horizon)) * sea.at(future)
    naive = level_adjusted_naive(filled, horizon)
    if naive is not None and model.share:
        mean = (1 - model.share) * mean + model.share * naive
    return np.maximum(mean, 0.0), model, sea.sharp_at(future)


def level_adjusted_naive(values: np.ndarray, horizon: int) -> np.ndarray | None:
    """The same weeks a year earlier, scaled by how the last 13 weeks compare with the same 13
    weeks a year earlier; None under 65 weeks of history."""
    n = len(values)
    if n < NAIVE_WEEKS or horizon > 52:
        return None
    year_ago = float(np.mean(values[-65:-52]))
    if year_ago <= 0:
        return None
    return values[n - 52:n - 52 + horizon] * (float(np.mean(values[-13:])) / year_ago)


def forecast(values: np.ndarray, weeks: np.ndarray, horizon: int = 8) -> Forecast:
    """Forecast with 80 % intervals. ``weeks`` are consecutive week indexes; ``values`` may
    have gaps (NaN)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 4 or not np.isfinite(values).any():
        raise ValueError("a forecast needs at least four weeks with hours")
    mean, model, sharp = _forecast(values, weeks, horizon)
    low, high = _relative_bounds(model, horizon, values)
    scale = np.where(sharp, _sharp_scale(model), 1.0)
    future = np.asarray(weeks)[-1] + np.arange(1, horizon + 1)
    return Forecast(future, mean, np.maximum(mean * (1 + low * scale), 0.0),
                    mean * (1 + high * scale))


def _quantile(r: np.ndarray, q: float) -> float:
    """A conformal quantile: the finite-sample level for ``len(r)`` errors."""
    level = min(1.0, q * (1 + 1 / len(r))) if q > 0.5 else max(0.0, q - (1 - q) / len(r))
    return float(np.quantile(r, level))


def _relative_bounds(model: _Model, horizon: int, values: np.ndarray):
    """The lower and upper relative error of the 80 % interval at each horizon, from the
    backtest's errors in ordinary weeks."""
    tail = (1 - INTERVAL) / 2
    low, high = np.full(horizon, np.nan), np.full(horizon, np.nan)
    for h in range(horizon):
        r = model.relative_errors[:, h]
        r = r[np.isfinite(r) & ~model.sharp_target[:, h]]
        if r.size >= MIN_ERRORS:
            low[h], high[h] = _quantile(r, tail), _quantile(r, 1 - tail)
    known = np.flatnonzero(np.isfinite(high))
    if known.size == 0:
        level = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
        base = float(np.nanstd(values) / level) if level > 0 else 0.1
        spread = 1.2816 * max(base, 0.05) * np.sqrt(np.arange(1, horizon + 1))
        return -spread, spread
    for h in range(horizon):
        if not np.isfinite(high[h]):
            last = known[known < h].max() if (known < h).any() else known.min()
            grow = np.sqrt((h + 1) / (last + 1))
            low[h], high[h] = low[last] * grow, high[last] * grow
    # the interval does not narrow as the horizon grows
    return -np.maximum.accumulate(-np.minimum(low, 0.0)), np.maximum.accumulate(
        np.maximum(high, 0.0))


def _sharp_scale(model: _Model) -> float:
    """How much wider the errors were in weeks with sharp calendar effects than in ordinary
    weeks (at least 1)."""
    r = model.relative_errors
    ok = np.isfinite(r)
    sharp, ordinary = np.abs(r[ok & model.sharp_target]), np.abs(r[ok & ~model.sharp_target])
    if sharp.size < MIN_SHARP_ERRORS or ordinary.size < MIN_ERRORS:
        return 1.0
    base = float(np.quantile(ordinary, INTERVAL))
    return max(1.0, float(np.quantile(sharp, INTERVAL)) / base) if base > 0 else 1.0


def seasonal_naive(values: np.ndarray, horizon: int) -> np.ndarray:
    """The yardstick: each week as it was 52 weeks earlier."""
    n = len(values)
    return np.array([values[n - 52 + h] if n - 52 + h >= 0 else np.nan
                     for h in range(horizon)])
