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
FULL_SEASON_YEARS = 0.25  # the profile counts in full from this much history beyond a year
NAIVE_WEEKS = 65  # history the level-adjusted seasonal naive needs
SMOOTH_WEEKS = 13  # weeks of the local fit that smooths the seasonal profile
SMOOTH_ORDER = 0  # the degree of the local polynomial (0: a moving average)
MAX_EMPTY_SHARE = 0.1  # weeks without hours above this share: no seasonal profile
FACTOR_RANGE = (0.25, 4.0)  # a week's seasonal factor stays within these
OUTLIER = 3.0  # a week this many robust deviations off the smooth curve is not smoothed
SHARP = 0.5  # a week keeping over this share of its deviation has a sharp calendar effect
MIN_ERRORS = 8  # backtest errors a horizon's interval needs (else grown from shorter ones)
MIN_SHARP_ERRORS = 8
WARM = 13  # weeks before the backtest's first origin
FLAT_NAIVE = False  # no profile: the seasonal naive is mostly noise (a group that works rarely)
LOSS_POWER = 1  # the backtest ranks the smoothing weights by mean absolute error
TOP_K = 3  # the forecast averages Holt's forecasts with the best few smoothing weights


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
    seasonal: bool = True  # False: no profile (too short, or too many weeks without hours)

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
    return Season(np.ones(54), (0.0, 0.0), np.zeros(54, bool), np.ones(n), False)


def _circular_smooth(core: np.ndarray) -> np.ndarray:
    """A local quadratic fit over SMOOTH_WEEKS weeks around each week (Savitzky-Golay): it
    keeps the depth of a seasonal trough that a moving average would flatten."""
    half = SMOOTH_WEEKS // 2
    padded = np.concatenate([core[-half:], core, core[:half]])
    return np.convolve(padded, _smoothing_weights(SMOOTH_WEEKS, SMOOTH_ORDER)[::-1],
                       mode="valid")


@functools.lru_cache(maxsize=8)
def _smoothing_weights(width: int, order: int) -> np.ndarray:
    offsets = np.arange(width) - width // 2
    design = np.vander(offsets, order + 1, increasing=True)
    return np.linalg.pinv(design)[0]


def _circular_median(core: np.ndarray) -> np.ndarray:
    half = SMOOTH_WEEKS // 2
    padded = np.concatenate([core[-half:], core, core[:half]])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, SMOOTH_WEEKS), axis=1)


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
    weight = min(1.0, max(0.0, (n / 52.18 - 1.0) / FULL_SEASON_YEARS))
    factors, effects, sharp = _profile(ratio, woy, sunday, after, np.ones(n, bool), weight)
    # For the backtest, each year's weeks get the factors estimated without that year (the
    # 52-week blocks counted back from the end): it must not see the outcomes it forecasts,
    # nor the same year's noise through the smoothing.
    loo = np.ones(n)
    block = (n - 1 - np.arange(n)) // 52
    for b in range(int(block.max()) + 1):
        mine = block == b
        f, e, _sharp = _profile(ratio, woy, sunday, after, ~mine, weight)
        loo[mine] = f[woy[mine]] * (1 + e[0] * sunday[mine] + e[1] * after[mine])
    return Season(factors, effects, sharp, loo)


def _profile(ratio: np.ndarray, woy: np.ndarray, sunday: np.ndarray, after: np.ndarray,
             use: np.ndarray, weight: float):
    """The factors by week number, the Easter effects and the sharp weeks from the ratios
    to the moving trend of the weeks in ``use``."""
    ordinary = use & ~(sunday | after)
    counts = np.bincount(woy[ordinary], minlength=54).astype(float)
    sums = np.bincount(woy[ordinary], weights=ratio[ordinary], minlength=54)
    raw = np.divide(sums, counts, out=np.full(54, np.nan), where=counts > 0)
    core = raw[1:53]
    if not np.isfinite(core).any():
        return np.ones(54), (0.0, 0.0), np.zeros(54, bool)
    core = np.where(np.isfinite(core), core, np.nanmean(core))
    # Sharp weeks out of their neighbours' smoothing: they stand out from the running median
    # (which a block of up to four holiday weeks does not move), and again from the smooth
    # curve without them.
    smooth = _circular_median(core)
    for _ in range(2):
        deviation = core - smooth
        scale = 1.4826 * np.median(np.abs(deviation)) + 1e-9
        smooth = _circular_smooth(np.where(np.abs(deviation) > OUTLIER * scale, smooth, core))
    smooth54 = np.concatenate([[1.0], smooth, [(smooth[-1] + smooth[0]) / 2]])
    deviation = raw - smooth54
    # the noise of one year's ratio, from the ordinary weeks' deviations (a week with m years
    # deviates by noise/m); the median of a chi-square with one degree of freedom is 0.455
    scaled = (deviation ** 2 * counts)[1:53]
    noise = float(np.median(scaled[np.isfinite(scaled)]) / 0.455)
    keep = _shrink(deviation, counts, noise)
    factors = smooth54 + keep * np.where(np.isfinite(deviation), deviation, 0.0)
    norm = factors[1:53].mean()
    # Easter: its weeks' ratios against their week numbers' factors, the same shrinkage
    effects = []
    for mask in (sunday & use, after & use):
        relative = ratio[mask] / factors[woy[mask]] - 1
        effect = float(relative.mean()) if relative.size else 0.0
        effect *= float(_shrink(np.array([effect]), np.array([relative.size]), noise)[0])
        effects.append(weight * effect)
    factors = np.clip(1 + weight * (factors / norm - 1), *FACTOR_RANGE)
    return factors, (effects[0], effects[1]), keep > SHARP


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
    once: arrays (weeks, grid).

    The recursion is linear: the state [level, trend] after week t is A [level, trend] + b y_t
    with A = [[1 - a, (1 - a) phi], [-a b, phi (1 - a b)]] and b = [a, a b] (a, b the
    smoothing weights, phi the damping), starting from [y_0, 0]. So the states are the
    series convolved with the impulse responses A^k b, plus A^t [y_0, 0]: computed at once
    with FFTs instead of a loop over the weeks."""
    series = np.asarray(series, dtype=float)
    n = len(series)
    impulse, free = _responses(max(64, 1 << (n - 1).bit_length()))
    size = 1 << (2 * n - 1).bit_length()
    shocks = series.copy()
    shocks[0] = 0.0
    spectrum = np.fft.rfft(impulse[:, :, :n], size) * np.fft.rfft(shocks, size)
    states = np.fft.irfft(spectrum, size)[:, :, :n] + free[:, :, :n] * series[0]
    return states[:, 0, :].T, states[:, 1, :].T


@functools.lru_cache(maxsize=8)
def _responses(length: int) -> tuple[np.ndarray, np.ndarray]:
    """A^k b and A^k [1, 0] for k < ``length``, for each (alpha, beta) of the grid:
    arrays (grid, 2, length)."""
    a, b, phi = _GRID[:, 0], _GRID[:, 1], DAMPING
    matrix = np.empty((len(_GRID), 2, 2))
    matrix[:, 0, 0], matrix[:, 0, 1] = 1 - a, (1 - a) * phi
    matrix[:, 1, 0], matrix[:, 1, 1] = -a * b, phi * (1 - a * b)
    impulse, free = np.empty((len(_GRID), 2, length)), np.empty((len(_GRID), 2, length))
    step = np.stack([a, a * b], axis=1)
    start = np.stack([np.ones_like(a), np.zeros_like(a)], axis=1)
    for k in range(length):
        impulse[:, :, k], free[:, :, k] = step, start
        step = np.einsum("gij,gj->gi", matrix, step)
        start = np.einsum("gij,gj->gi", matrix, start)
    return impulse, free


def _holt_loop(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same states by the plain recursion (for the tests)."""
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
    grid: np.ndarray  # the chosen (alpha, beta) pairs, whose forecasts are averaged
    share: float  # the level-adjusted seasonal naive's share
    relative_errors: np.ndarray  # backtest (origins, horizon): (actual - forecast) / forecast
    sharp_target: np.ndarray  # backtest (origins, horizon): the target week is sharp


def _backtest(filled: np.ndarray, index: np.ndarray, sea: Season, horizon: int) -> _Model:
    n = len(filled)
    levels, trends = _holt_states(filled / sea.loo)
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
    shares = NAIVE_SHARES if has_naive.sum() >= 4 * horizon and (FLAT_NAIVE or sea.seasonal) else (0.0,)
    scored = has_naive if len(shares) > 1 else valid
    if not scored.any():
        scored = valid
    # Holt's part: the mean forecast of the TOP_K smoothing weights with the least error
    error = (np.abs(actual[:, :, None] - np.maximum(holt, 0.0)) ** LOSS_POWER)[scored].mean(axis=0)
    chosen = np.argsort(error, kind="stable")[:TOP_K]
    holt_part = holt[:, :, chosen].mean(axis=2)
    naive_part = np.where(has_naive, naive, 0.0)
    best = (np.inf, 0.0)
    for share in shares:
        blend = np.maximum((1 - share) * holt_part + share * naive_part, 0.0)
        score = float(np.abs(actual - blend)[scored].mean())
        if score < best[0] - 1e-12:
            best = (score, share)
    share = best[1]
    point = np.where(has_naive, (1 - share) * holt_part + share * naive_part, holt_part)
    point = np.maximum(point, 0.0)
    relative = np.divide(actual - point, point, out=np.full(point.shape, np.nan),
                         where=valid & (point > 0))
    return _Model(chosen, share, relative, sea.sharp_at(index[targets_c]) & valid)


def point_forecast(values: np.ndarray, weeks: np.ndarray, horizon: int) -> np.ndarray:
    """The model's forecast of the ``horizon`` weeks after ``weeks[-1]``."""
    return _forecast(values, weeks, horizon)[0]


def _forecast(values: np.ndarray, weeks: np.ndarray, horizon: int):
    filled = _fill(values)
    weeks = np.asarray(weeks)
    sea = season(filled, weeks)
    model = _backtest(filled, weeks, sea, horizon)
    levels, trends = _holt_states(filled / sea.at(weeks))
    future = weeks[-1] + np.arange(1, horizon + 1)
    holt = levels[-1, model.grid][None, :] + trends[-1, model.grid][None, :] \
        * _steps(horizon)[:, None]
    mean = holt.mean(axis=1) * sea.at(future)
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
    sharp_low, sharp_high = _sharp_bounds(model, low, high)
    low, high = np.where(sharp, sharp_low, low), np.where(sharp, sharp_high, high)
    future = np.asarray(weeks)[-1] + np.arange(1, horizon + 1)
    return Forecast(future, mean, np.maximum(mean * (1 + low), 0.0), mean * (1 + high))


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
            low[h] = max(_quantile(r, tail), -1.0)
            # an interval down to zero holds every week without hours (a group that works
            # rarely): its upper end then holds the rest of the 80 %, not the 90th percentile
            below = float(np.mean(r < low[h] - 1e-12))
            high[h] = _quantile(r, min(1.0, INTERVAL + below))
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


def _sharp_bounds(model: _Model, low: np.ndarray, high: np.ndarray):
    """The bounds for weeks with sharp calendar effects (holidays, Easter): their backtest
    errors in units of the ordinary interval's half-width at the same horizon, pooled over the
    horizons, give the share of the half-width below and above; never narrower than an
    ordinary week's."""
    half = (high - low) / 2
    r = model.relative_errors
    use = np.isfinite(r) & model.sharp_target & (half[None, :] > 0)
    if use.sum() < MIN_SHARP_ERRORS:
        return low, high
    scores = (r / np.where(half > 0, half, 1.0)[None, :])[use]
    tail = (1 - INTERVAL) / 2
    down = _quantile(scores, tail)
    below = float(np.mean(scores < down - 1e-12))
    up = _quantile(scores, min(1.0, INTERVAL + below))
    return np.maximum(np.minimum(down * half, low), -1.0), np.maximum(up * half, high)


def seasonal_naive(values: np.ndarray, horizon: int) -> np.ndarray:
    """The yardstick: each week as it was 52 weeks earlier."""
    n = len(values)
    return np.array([values[n - 52 + h] if n - 52 + h >= 0 else np.nan
                     for h in range(horizon)])
