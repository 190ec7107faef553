"""Drift detection for coaches: a change of a team's KPI in the worse direction, told early
and seldom by chance.

Small teams make weekly KPIs noisy, skewed, autocorrelated and seasonal. The detector, per KPI
(a *panel* of series, one per team):

1. Seasonal adjustment: a week-of-year profile pooled across the teams (additive for levels,
   a rate factor for counts), blended with a team's own profile as its history grows.
2. Levels (productivity, sick_leave, temp_share, continuity), learned from the panel watched:
   - Relations between KPIs: each KPI's weeks (standardized against the team's weeks so far)
     are regressed on those of its drivers (``DRIVERS``: sick leave drives temps; sick leave
     and temps drive productivity and continuity), the same week and the week before, pooled
     over the teams and refitted every week on the weeks before it; a coefficient the data
     does not bear out (t under 3) is shrunk to nothing. A KPI is watched beyond what its
     drivers explain: a long-term sick spell raises temps without a temp alert, and temps
     creeping up are seen sooner.
   - Per team, from its own baseline (the 52 weeks that end 26 weeks earlier; the guard keeps
     a new change out of its own baseline): the usual level, the spread and the persistence
     (lag-1 autocorrelation) of what is left when the drivers' part is taken out (with the
     week's coefficients, baseline weeks included).
   - Each week is standardized against that, turned so that worse is positive, clipped at ±2
     (one-off spikes and single long-term sick spells cannot alert alone; what alerts is a
     deviation that lasts), and fed to a one-sided CUSUM with reference 0.75 (tuned to
     changes of 1-1.5 standard deviations) and a threshold per team and week for its
     persistence.
3. Counts (sick_episodes): a Poisson CUSUM tuned to a rise by 70 % of the team's usual rate (its
   mean of the same 52 weeks, shrunk towards all teams' rate where its history is short; a
   week counts at most 2 Poisson deviations above it, and a one-off burst of 3.5 or more —
   a flu going through the team — is left out) — new sick episodes show rising sickness
   weeks before the sick-leave percentage does.
4. Thresholds come from simulation, each set so that series without change give at most 0.2
   alerts a year (``BUDGET``): for levels, AR(1) series with heavy-tailed shocks, the table
   kept by the autocorrelation the detector estimates (``metrics.drift_calibration``), and
   raised for a whole panel by the factor at which its own standardized weeks, resampled in
   half-year blocks with their thresholds (keeping skew and long-term sickness; blocks far
   above the typical one, mostly other teams' real changes, left out), stay within the
   budget; for counts, that simulation's threshold for the expected rate. The simulated
   tables also say how rare an alert's statistic is by chance ("about once in N years").
5. One alert per episode: after an alert the series is quiet for 8 weeks, or until it is back
   at its usual level; the estimated first week of the change is the week after the CUSUM was
   last zero (or first watched). An alert needs ``MIN_HISTORY`` weeks of data before that
   week: a usual level to stand on; weeks before a team has them are not watched at all. A
   crossing whose weeks are not worse on average than expected is no alert, and it neither
   resets the CUSUM nor starts the quiet period.
6. What an alert says matches what was compared: its ``baseline`` is the level expected over
   the weeks since the start (the usual level, the season, and what the drivers explain of
   those weeks), its ``current`` the mean of those weeks, worse than the baseline.

Pure functions of arrays and frames; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics import weeks as iso_weeks

# worse direction: +1 when a rise is worse, -1 when a fall is
METRICS: dict[str, int] = {"productivity": -1, "sick_leave": 1, "temp_share": 1,
                           "continuity": 1, "sick_episodes": 1}
COUNTS = frozenset({"sick_episodes"})

BUDGET = 0.2  # false alerts per team and KPI per year
BASELINE_WEEKS = 52
MIN_BASELINE = 26  # weeks with a value in the baseline before a series is watched
MIN_HISTORY = 26  # weeks with a value before an alert's start week: a baseline to stand on
GUARD_WEEKS = 26
QUIET_WEEKS = 8
REFERENCE = 0.75  # the level CUSUM's reference value, in standard deviations
CLIP = 2.0
COUNT_CLIP = 2.0  # Poisson deviations a week of counts may add at most
BURST = 3.5  # Poisson deviations up (and at least BURST_MIN new episodes): a week's burst
BURST_MIN = 3
# The count CUSUM looks for this multiple of the usual rate. With the cap above, tuning it to a
# rise a little smaller than a doubling catches more doublings within 26 weeks at the same
# false-alarm budget (benchmarks/drift_evaluation.py: 87 % against 84-85 %, 4,000 teams, two
# seeds, with a cap of 1.5 and no bursts left out).
RATE_RATIO = 1.7
RATE_PRIOR_WEEKS = 10.0  # weight of all teams' rate in a team's usual rate
BACK_AT_USUAL = 0.5  # standard deviations: the mean of the last 4 weeks back within this
# Which KPIs may explain a level KPI's weeks (drivers before what they drive: sickness makes
# temps, temps and sickness move productivity and continuity), the same week and the week
# before; the panel's data says how much (``relations``).
DRIVERS: dict[str, tuple[str, ...]] = {
    "sick_leave": (), "temp_share": ("sick_leave",),
    "productivity": ("sick_leave", "temp_share"), "continuity": ("sick_leave", "temp_share")}
LAGS = (0, 1)
BLOCK_WEEKS = 26  # resampled blocks keep half a year of a team's weeks together
BOOTSTRAP_SERIES = 200
BOOTSTRAP_YEARS = 10
BOOTSTRAP_MIN_YEARS = 20.0  # series-years of standardized weeks needed to resample
TRIM_BLOCKS = 2.5  # robust standard deviations: resampled blocks further up are left out
Z_FIT = 4.0  # standardized weeks are clipped at this in the relations' fit
RELATION_MIN = 200  # team-weeks before relations are fitted
YEAR = 52.18


@dataclass(frozen=True)
class Alert:
    team: str
    metric: str
    week: int  # week index of the week the alert is raised (sent)
    start_week: int  # estimated first week of the change
    baseline: float  # the usual level (or weekly rate), in the KPI's units
    current: float  # the mean since the start week, in the KPI's units
    statistic: float  # the CUSUM when it crossed
    threshold: float
    spread: float  # the usual week-to-week spread (a standard deviation), in the KPI's units
    years_by_chance: float  # a statistic this high comes by chance about once in so many years

    @property
    def direction(self) -> str:
        return "worse"


# -- seasonal profiles ------------------------------------------------------------------------

week_of_year = iso_weeks.numbers  # ISO week numbers (1-53) of week indexes


def _smooth_circular(profile: np.ndarray, width: int = 5) -> np.ndarray:
    """A centred moving average over weeks 1-52 that wraps around the year end; week 53 takes
    the mean of weeks 52 and 1."""
    core = profile[1:53]
    core = np.where(np.isnan(core), 0.0, core)
    half = width // 2
    padded = np.concatenate([core[-half:], core, core[:half]])
    smooth = np.convolve(padded, np.ones(width) / width, mode="valid")
    out = np.zeros(54)
    out[1:53] = smooth
    out[53] = (smooth[-1] + smooth[0]) / 2
    return out


def _profile(deviations: np.ndarray, woy: np.ndarray) -> np.ndarray:
    """Mean deviation per week of year (columns pooled), smoothed; index 1..53."""
    finite = np.isfinite(deviations)
    weeks = np.broadcast_to(np.asarray(woy)[:, None], deviations.shape)[finite]
    sums = np.bincount(weeks, weights=deviations[finite], minlength=54)[:54]
    counts = np.bincount(weeks, minlength=54)[:54]
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(counts > 0, sums / counts, np.nan)
    profile[0] = np.nan
    if np.isnan(profile[53]):
        profile[53] = np.nanmean([profile[52], profile[1]]) if np.isfinite(
            [profile[52], profile[1]]).any() else 0.0
    return _smooth_circular(profile)


def seasonal_adjust(values: np.ndarray, woy: np.ndarray,
                    multiplicative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values with the week-of-year profile taken out, and the profile per row and column.

    The profile is pooled across the columns (teams); a column with several years of history
    blends in its own, weight ``years / (years + 4)``."""
    observed = np.isfinite(values)
    if multiplicative:
        level = np.nanmean(values, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = values / np.where(level > 0, level, np.nan)
        pooled = _profile(ratio - 1.0, woy) + 1.0
    else:
        level = np.nanmedian(values, axis=0)
        pooled = _profile(values - level, woy)
    factors = np.repeat(pooled[woy][:, None], values.shape[1], axis=1)
    years = observed.sum(axis=0) / YEAR
    for column in np.flatnonzero(years >= 2):
        weight = years[column] / (years[column] + 4)
        own_dev = (values[:, column:column + 1] / level[column] - 1.0) if multiplicative \
            else values[:, column:column + 1] - level[column]
        own = _profile(own_dev, woy) + (1.0 if multiplicative else 0.0)
        factors[:, column] = (1 - weight) * pooled[woy] + weight * own[woy]
    if multiplicative:
        factors = np.clip(factors, 0.2, 5.0)
        return values / factors, factors
    return values - factors, factors


# -- the CUSUM with episodes ------------------------------------------------------------------

@dataclass(frozen=True)
class Crossing:
    row: int  # the alert week's row
    column: int
    start_row: int
    statistic: float
    threshold: float


def cusum(increments: np.ndarray, thresholds: np.ndarray, back: np.ndarray,
          accept=None) -> list[Crossing]:
    """One-sided CUSUM over rows (weeks) for every column at once. ``increments`` are NaN
    where a week has no value (the statistic stays); ``back`` says per row and column that
    the series is back at its usual level (which ends a quiet period early). ``accept(row,
    column, start_row)``, if given, says whether a crossing is an alert: one that is not
    neither resets the statistic nor starts a quiet period, so a change in the weeks after it
    is still seen."""
    n_rows, n_cols = increments.shape
    statistic = np.zeros(n_cols)
    last_zero = np.full(n_cols, -1)
    quiet_until = np.full(n_cols, -1)
    crossings: list[Crossing] = []
    for row in range(n_rows):
        step = increments[row]
        known = np.isfinite(step)
        quiet = (row < quiet_until) & ~back[row]
        quiet_until[~quiet] = -1
        statistic = np.where(known & ~quiet, np.maximum(0.0, statistic + np.nan_to_num(step)),
                             np.where(quiet, 0.0, statistic))
        last_zero = np.where(quiet | (statistic == 0.0), row, last_zero)
        fired = np.flatnonzero(~quiet & (statistic > thresholds[row]))
        if accept is not None:
            fired = np.array([c for c in fired if accept(row, int(c), int(last_zero[c]) + 1)],
                             dtype=int)
        for column in fired:
            crossings.append(Crossing(row, int(column), int(last_zero[column]) + 1,
                                      float(statistic[column]), float(thresholds[row, column])))
        statistic[fired] = 0.0
        last_zero[fired] = row
        quiet_until[fired] = row + QUIET_WEEKS + 1
    return crossings


def expanding_standardized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each week against its team's median and robust spread (the interquartile range over
    1.349, at least a quarter of the panel's typical one) of all weeks so far: the yardstick
    the relations between KPIs are learned in, from the first quarter on, which a long sick
    spell does not stretch; and that spread."""
    expanding = pd.DataFrame(values).expanding(min_periods=13)
    median = expanding.median().to_numpy()
    spread = (expanding.quantile(0.75).to_numpy() - expanding.quantile(0.25).to_numpy()) / 1.349
    floor = np.nanmedian(spread) * 0.25 if np.isfinite(spread).any() else 0.0
    spread = np.where(np.isfinite(spread), np.maximum(spread, max(floor, 1e-9)), np.nan)
    return (values - median) / spread, spread


def relations(target: np.ndarray, drivers: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """How much of each standardized week of ``target`` the standardized weeks of its
    ``drivers`` explain, the same week and the week before (``LAGS``), pooled over the
    panel's teams and learned as data comes: the coefficients used in a week are fitted on all
    the weeks before it. Each coefficient is shrunk by its t statistic (``1 - 9 / t**2``, none
    below 3), so that a relation the panel does not show is left out. The explained part per
    week and team (NaN drivers count as usual), and the coefficients per week."""
    columns = [_lagged(d, lag) for d in drivers for lag in LAGS]
    n_rows = target.shape[0]
    if not columns:
        return np.zeros_like(target), np.zeros((n_rows, 0))
    y = np.clip(target, -Z_FIT, Z_FIT)
    unclipped = np.stack(columns, axis=-1)  # week, team, predictor
    x = np.clip(unclipped, -Z_FIT, Z_FIT)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=-1)
    x0 = np.where(ok[..., None], x, 0.0)
    y0 = np.where(ok, y, 0.0)
    p = x.shape[-1]
    xx = np.cumsum(np.einsum("wti,wtj->wij", x0, x0), axis=0)
    xy = np.cumsum(np.einsum("wti,wt->wi", x0, y0), axis=0)
    yy = np.cumsum((y0 ** 2).sum(axis=1))
    n = np.cumsum(ok.sum(axis=1))
    beta = np.zeros((n_rows, p))
    for row in range(1, n_rows):
        m = n[row - 1]
        if m < RELATION_MIN:
            continue
        a = xx[row - 1] + 1e-6 * np.eye(p)
        b = xy[row - 1]
        coef = np.linalg.solve(a, b)
        resid = max(yy[row - 1] - coef @ b, 1e-9) / max(m - p, 1)
        se = np.sqrt(resid * np.clip(np.diag(np.linalg.inv(a)), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            t2 = (coef / se) ** 2
        beta[row] = coef * np.clip(1 - 9 / np.maximum(t2, 1e-9), 0, 1)
    explained = np.einsum("wti,wi->wt", np.nan_to_num(unclipped), beta)
    return explained, beta


def _lagged(values: np.ndarray, lag: int) -> np.ndarray:
    if lag == 0:
        return values
    return np.vstack([np.full((lag, values.shape[1]), np.nan), values[:-lag]])


def _window(x: np.ndarray) -> np.ndarray:
    """Per row the sum of ``x`` over the baseline weeks: the ``BASELINE_WEEKS`` rows that end
    ``GUARD_WEEKS`` rows earlier (fewer at the start)."""
    n = x.shape[0]
    total = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    rows = np.arange(n)
    hi = np.clip(rows - GUARD_WEEKS + 1, 0, n)
    lo = np.clip(rows - GUARD_WEEKS - BASELINE_WEEKS + 1, 0, n)
    return total[hi] - total[lo]


def baseline_residuals(target: np.ndarray, predictors: list[np.ndarray],
                       slopes: np.ndarray) -> dict[str, np.ndarray]:
    """What is left of ``target`` when the ``predictors`` times their ``slopes`` (per week and
    team, in the KPIs' units) are taken out, against the team's own baseline weeks with the
    week's slopes: each week's deviation from the baseline's mean, the baseline's standard
    deviation, and its lag-1 autocorrelation (in [0, 0.9]), all per week and team; the slopes
    of a week apply to its baseline weeks too, so a relation learned later does not make a
    jump. A week with a predictor missing counts it as usual; a baseline needs
    ``MIN_BASELINE`` complete weeks."""
    values = np.stack([target, *predictors], axis=-1)  # week, team, variable
    m = values.shape[-1]
    complete = np.isfinite(values).all(axis=-1)
    v = np.where(complete[..., None], values, 0.0)
    previous = np.concatenate([np.zeros_like(v[:1]), v[:-1]])
    pairs = complete & np.concatenate([np.zeros_like(complete[:1]), complete[:-1]])
    n = _window(complete.astype(float))
    n_pairs = _window(pairs.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _window(v) / n[..., None]
        moments = _window(np.einsum("wti,wtj->wtij", v, v)) / n[..., None, None]
        cur = _window(np.where(pairs[..., None], v, 0.0)) / n_pairs[..., None]
        prev = _window(np.where(pairs[..., None], previous, 0.0)) / n_pairs[..., None]
        lagged = _window(np.einsum("wti,wtj->wtij", np.where(pairs[..., None], v, 0.0),
                                   np.where(pairs[..., None], previous, 0.0))) \
            / n_pairs[..., None, None]
    weights = np.concatenate([np.ones((*target.shape, 1)), -slopes], axis=-1) if m > 1 else \
        np.ones((*target.shape, 1))
    covariance = moments - np.einsum("wti,wtj->wtij", mean, mean)
    lag_covariance = lagged - np.einsum("wti,wtj->wtij", cur, prev)
    variance = np.einsum("wti,wtij,wtj->wt", weights, covariance, weights)
    lag = np.einsum("wti,wtij,wtj->wt", weights, lag_covariance, weights)
    now = np.where(np.isfinite(values), values, mean)
    now[..., 0] = target
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.einsum("wti,wti->wt", weights, now - mean)
        spread = np.sqrt(np.maximum(variance, 0.0))
        phi = np.clip(lag / variance, 0.0, 0.9)
    known = (n >= MIN_BASELINE) & (n_pairs >= MIN_BASELINE // 2) & (variance > 0)
    # the residual's usual level: the target's mean less its predictors' part of it
    usual = mean[..., 0] + np.einsum("wti,wti->wt", weights[..., 1:], mean[..., 1:]) \
        if m > 1 else mean[..., 0]
    return {"deviation": np.where(known, deviation, np.nan),
            "spread": np.where(known, spread, np.nan), "phi": np.where(known, phi, np.nan), "usual": usual,
            "explained": np.einsum("wti,wti->wt", -weights[..., 1:], now[..., 1:]) if m > 1
            else np.zeros_like(target)}


def watch(target: np.ndarray, worse: int, threshold_of_phi, predictors=(), slopes=None,
          resample: bool = True, watched: np.ndarray | None = None) -> tuple[
        list[Crossing], dict]:
    """The level CUSUM on what is left of a KPI when its drivers' part is taken out
    (``baseline_residuals``): each week standardized against the team's own baseline (its
    usual level and spread), turned so that worse is positive, clipped at ``CLIP``, with a
    threshold per team and week for the persistence of its baseline weeks
    (``threshold_of_phi``, arrays in and out), raised for the whole panel where its own weeks,
    resampled, show that AR(1) series understate how often it alerts by chance
    (``panel_factor``). Only rows ``watched`` (default: all) can alert, and only a crossing
    whose weeks since its start are, on average, worse than expected (clipped weeks can tip the
    CUSUM over with a mean the other way): one that is not leaves the CUSUM running."""
    found = baseline_residuals(target, list(predictors),
                               slopes if slopes is not None else np.zeros((*target.shape, 0)))
    spread = found["spread"]
    floor = np.nanmedian(spread) * 0.25 if np.isfinite(spread).any() else 1e-9
    spread = np.maximum(spread, max(floor, 1e-12))
    with np.errstate(invalid="ignore"):
        u = np.clip(worse * found["deviation"] / spread, -CLIP, CLIP)
    phi = found["phi"]
    known = np.isfinite(phi) & np.isfinite(u)
    thresholds = np.full(u.shape, np.inf)
    thresholds[known] = threshold_of_phi(phi[known])
    u = np.where(np.isfinite(phi), u, np.nan)
    factor = panel_factor(u, thresholds) if resample else 1.0
    increments, limits = u - REFERENCE, thresholds * factor
    if watched is not None:
        increments, limits = np.where(watched, increments, np.nan), np.where(watched, limits,
                                                                             np.inf)
    # The KPI less what is expected of it (its usual level and its drivers' part), per week.
    excess = target - found["usual"] - found["explained"]

    def worse_on_average(row: int, column: int, start: int) -> bool:
        weeks_ = excess[start:row + 1, column]
        seen = np.isfinite(target[start:row + 1, column])
        with np.errstate(invalid="ignore"):
            return bool(worse * np.nanmean(np.where(seen, weeks_, np.nan)) > 0) \
                if seen.any() else False

    crossings = cusum(increments, limits, back_at_usual(u), accept=worse_on_average)
    return crossings, {**found, "u": u, "spread": spread, "factor": factor}


def panel_factor(u: np.ndarray, thresholds: np.ndarray, seed: int = 0) -> float:
    """The factor (at least 1) on the thresholds at which the panel's own standardized weeks,
    resampled in blocks of ``BLOCK_WEEKS`` with each block's thresholds, give ``BUDGET`` alerts
    per series-year; 1 when the panel is too small to resample (under
    ``BOOTSTRAP_MIN_YEARS`` series-years).

    The thresholds hold for AR(1) series with the team's persistence; what makes small teams'
    series harder — long-term sickness, skew, weeks that depend on other KPIs in ways the
    relations do not take out — shows in the panel's own weeks, which blocks keep. A panel
    also holds teams whose figures really changed, and their weeks after the change would
    teach the detector that a change is chance: blocks whose mean lies more than
    ``TRIM_BLOCKS`` robust standard deviations above the typical block's are left out."""
    ok = np.isfinite(u) & np.isfinite(thresholds)
    columns = [(u[ok[:, j], j], thresholds[ok[:, j], j]) for j in range(u.shape[1])]
    columns = [c for c in columns if len(c[0]) >= BLOCK_WEEKS]
    if sum(len(c[0]) for c in columns) / YEAR < BOOTSTRAP_MIN_YEARS:
        return 1.0
    weeks = np.concatenate([c[0] for c in columns])
    limits = np.concatenate([c[1] for c in columns])
    ends = np.cumsum([len(c[0]) for c in columns])
    starts = np.concatenate([np.arange(end - len(c[0]), end - BLOCK_WEEKS + 1)
                             for c, end in zip(columns, ends, strict=True)])
    sums = np.concatenate([[0.0], np.cumsum(weeks)])
    means = (sums[starts + BLOCK_WEEKS] - sums[starts]) / BLOCK_WEEKS
    middle = np.median(means)
    mad = 1.4826 * np.median(np.abs(means - middle))
    starts = starts[means <= middle + TRIM_BLOCKS * mad]
    rng = np.random.default_rng(seed)
    n_blocks = int(np.ceil(BOOTSTRAP_YEARS * YEAR / BLOCK_WEEKS))
    picks = starts[rng.integers(0, len(starts), size=(n_blocks, BOOTSTRAP_SERIES))]
    index = (picks[:, None, :] + np.arange(BLOCK_WEEKS)[None, :, None]).reshape(
        n_blocks * BLOCK_WEEKS, BOOTSTRAP_SERIES)
    series, h = weeks[index], limits[index]
    years = series.shape[0] * BOOTSTRAP_SERIES / YEAR
    back = back_at_usual(series)

    def rate(factor: float) -> float:
        return len(cusum(series - REFERENCE, h * factor, back)) / years

    if rate(1.0) <= BUDGET:
        return 1.0
    lo, hi = 1.0, 4.0
    for _ in range(10):  # bisection: the alert rate falls as the factor rises
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rate(mid) > BUDGET else (lo, mid)
    return hi


def back_at_usual(z: np.ndarray) -> np.ndarray:
    recent = pd.DataFrame(z).rolling(4, min_periods=2).mean().to_numpy()
    return np.nan_to_num(recent, nan=np.inf) < BACK_AT_USUAL


def detect_counts(counts: np.ndarray, factors: np.ndarray, threshold_of_rate,
                  watched: np.ndarray | None = None) -> tuple[list[Crossing], dict]:
    """Poisson CUSUM for a rise of each column's usual rate (``factors``: the seasonal
    rate factor per row and column); only rows ``watched`` (default: all) can alert."""
    adjusted = counts / factors
    frame = pd.DataFrame(adjusted)
    sums = frame.rolling(BASELINE_WEEKS, min_periods=MIN_BASELINE).sum().shift(GUARD_WEEKS)
    n = frame.notna().astype(float).rolling(BASELINE_WEEKS, min_periods=MIN_BASELINE).sum() \
        .shift(GUARD_WEEKS)
    pooled = float(np.nanmean(adjusted)) if np.isfinite(adjusted).any() else 0.0
    rate = ((sums + RATE_PRIOR_WEEKS * pooled) / (n + RATE_PRIOR_WEEKS)).to_numpy()
    expected = np.maximum(rate * factors, 1e-3)
    deviation = np.sqrt(expected)
    capped = np.minimum(counts, expected + COUNT_CLIP * deviation)
    increments = capped * math.log(RATE_RATIO) - expected * (RATE_RATIO - 1)
    # A one-off burst (a flu going through the team in a week) is no change of the usual rate:
    # the week is left out, as a week without a value is.
    burst = (counts >= expected + BURST * deviation) & (counts >= BURST_MIN)
    increments[burst | ~np.isfinite(rate)] = np.nan
    thresholds = threshold_of_rate(np.nan_to_num(expected, nan=pooled))
    if watched is not None:
        increments[~watched] = np.nan
        thresholds = np.where(watched, thresholds, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (counts - expected) / deviation
    crossings = cusum(increments, thresholds, back_at_usual(z))
    return crossings, {"rate": rate, "expected": expected}


# -- the scan: tidy series in, alerts out ----------------------------------------------------

def scan(series: pd.DataFrame) -> list[Alert]:
    """Alerts for a tidy frame with columns team, metric, week (index), value. Every week an
    alert would have been raised is reported (as the bot would have sent it then).

    An alert's ``baseline`` is what was expected of the KPI over the weeks since the start
    week: the team's usual level, with the season, and with what its drivers (``DRIVERS``)
    explain of those weeks; ``current`` is the KPI's mean over them, so the two differ the
    worse way exactly as far as the detector saw, and ``spread`` is the usual week-to-week
    variation left when the drivers' part is taken out."""
    from metrics.drift_thresholds import count_threshold, level_thresholds, years_by_chance

    unknown = sorted(set(series["metric"]) - set(METRICS))
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not watched for drift; the metrics are "
                         f"{', '.join(METRICS)}")
    if series.empty:
        return []
    first, last = int(series["week"].min()), int(series["week"].max())
    all_weeks = np.arange(first, last + 1)
    woy = week_of_year(all_weeks)
    teams = sorted(set(series["team"]))
    wide = {metric: part.pivot_table(index="week", columns="team", values="value",
                                     aggfunc="mean").reindex(index=all_weeks, columns=teams)
            .to_numpy(dtype=float) for metric, part in series.groupby("metric", sort=True)}
    alerts: list[Alert] = []

    def with_history(values: np.ndarray) -> np.ndarray:
        """Rows after at least MIN_HISTORY weeks with a value: only they are watched, so that
        an alert's start week has a baseline to stand on (and a row without one can neither
        alert nor start a quiet period)."""
        before = np.cumsum(np.isfinite(values), axis=0) - np.isfinite(values)
        return before >= MIN_HISTORY

    if "sick_episodes" in wide:
        values = wide["sick_episodes"]
        _adjusted, factors = seasonal_adjust(values, woy, multiplicative=True)
        crossings, info = detect_counts(values, factors, count_threshold,
                                        watched=with_history(values))
        for c in crossings:
            alerts.append(Alert(
                teams[c.column], "sick_episodes", int(all_weeks[c.row]),
                int(all_weeks[c.start_row]), float(info["rate"][c.row, c.column]),
                float(np.nanmean(values[c.start_row:c.row + 1, c.column])),
                c.statistic, c.threshold, float(np.sqrt(info["expected"][c.row, c.column])),
                years_by_chance("count", c.statistic, info["expected"][c.row, c.column])))
    standardized: dict[str, np.ndarray] = {}
    adjusted_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for metric in DRIVERS:  # drivers first
        if metric not in wide:
            continue
        values = wide[metric]
        adjusted, profile = seasonal_adjust(values, woy)
        z, spread_so_far = expanding_standardized(adjusted)
        standardized[metric] = z
        adjusted_of[metric] = (adjusted, spread_so_far)
        names = [d for d in DRIVERS[metric] if d in standardized]
        _explained, beta = relations(z, [standardized[d] for d in names])
        predictors, slopes = [], []
        for i, (name, lag) in enumerate((d, lag) for d in names for lag in LAGS):
            driver, driver_spread = adjusted_of[name]
            predictors.append(_lagged(driver, lag))
            with np.errstate(invalid="ignore", divide="ignore"):
                slopes.append(np.nan_to_num(beta[:, i][:, None] * spread_so_far
                                            / _lagged(driver_spread, lag)))
        crossings, info = watch(adjusted, METRICS[metric], level_thresholds, predictors,
                                np.stack(slopes, axis=-1) if slopes else None,
                                watched=with_history(values))
        expected = profile + info["usual"] + info["explained"]
        for c in crossings:
            weeks_ = slice(c.start_row, c.row + 1)
            seen = np.isfinite(values[weeks_, c.column])
            baseline = float(np.nanmean(np.where(seen, expected[weeks_, c.column], np.nan)))
            current = float(np.nanmean(values[weeks_, c.column]))
            if not METRICS[metric] * (current - baseline) > 0:  # pragma: no cover
                continue  # watch() accepts only crossings worse on average; a guard
            alerts.append(Alert(
                teams[c.column], metric, int(all_weeks[c.row]), int(all_weeks[c.start_row]),
                baseline, current, c.statistic, c.threshold,
                float(info["spread"][c.row, c.column]),
                years_by_chance("level", c.statistic, info["phi"][c.row, c.column])))
    alerts.sort(key=lambda a: (a.week, a.team, a.metric))
    return alerts


def alerts_frame(alerts: list[Alert]) -> pd.DataFrame:
    """The contract's ALERTS columns (weeks as labels)."""
    return pd.DataFrame([{
        "team": a.team, "metric": a.metric, "week": iso_weeks.label(a.week),
        "direction": a.direction, "baseline": a.baseline, "current": a.current,
        "start_week": iso_weeks.label(a.start_week)} for a in alerts],
        columns=["team", "metric", "week", "direction", "baseline", "current", "start_week"])
