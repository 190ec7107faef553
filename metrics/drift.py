"""Drift detection for coaches: a change of a team's KPI in the worse direction, told early
and seldom by chance.

Small teams make weekly KPIs noisy, skewed, autocorrelated and seasonal. The detector, per KPI
(a *panel* of series, one per team):

1. Seasonal adjustment: a week-of-year profile pooled across the teams (additive for levels,
   a rate factor for counts), blended with a team's own profile as its history grows.
2. Levels (productivity, sick_leave, temp_share, continuity): each week is standardized
   against the team's usual level and spread — the median and standard deviation of the 52
   weeks that end 26 weeks earlier (the guard keeps a new change out of its own baseline) —
   turned so that worse is positive, clipped at ±2 (one-off spikes and single long-term sick
   spells cannot alert alone; what alerts is a deviation that lasts), and fed to a one-sided
   CUSUM with reference 0.75 (tuned to changes of 1-1.5 standard deviations).
   Temp share is first taken less what the same week's sick leave explains (the panel's
   slope): temps cover sickness, which is watched by itself.
3. Counts (sick_episodes): a Poisson CUSUM tuned to a rise by 70 % of the team's usual rate (its
   mean of the same 52 weeks, shrunk towards all teams' rate where its history is short; a
   week counts at most 2 Poisson deviations above it, and a one-off burst of 3.5 or more —
   a flu going through the team — is left out) — new sick episodes show rising sickness
   weeks before the sick-leave percentage does.
4. Thresholds come from simulation, each set so that series without change give at most 0.2
   alerts a year (``BUDGET``): for levels, the panel's own standardized weeks resampled in
   half-year blocks (keeping their autocorrelation, skew and long-term sickness; blocks far
   above the typical one, mostly other teams' real changes, left out), and never
   below the threshold for AR(1) series of the panel's autocorrelation simulated in
   ``metrics.drift_calibration``; for counts, that simulation's threshold for the expected
   rate. The simulated tables also say how rare an alert's statistic is by chance ("about
   once in N years").
5. One alert per episode: after an alert the series is quiet for 8 weeks, or until it is back
   at its usual level; the estimated first week of the change is the week after the CUSUM was
   last zero.

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
MIN_BASELINE = 20  # weeks with a value before a series is watched
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
BLOCK_WEEKS = 26  # resampled blocks keep half a year of a team's weeks together
BOOTSTRAP_SERIES = 200
BOOTSTRAP_YEARS = 10
BOOTSTRAP_MIN_YEARS = 20.0  # series-years of standardized weeks needed to resample
TRIM_BLOCKS = 3.0  # robust standard deviations: resampled blocks whose mean is further up are left out
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
    profile = np.full(54, np.nan)
    for week in range(1, 54):
        rows = deviations[woy == week]
        if rows.size and np.isfinite(rows).any():
            profile[week] = np.nanmean(rows)
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


def cusum(increments: np.ndarray, thresholds: np.ndarray, back: np.ndarray) -> list[Crossing]:
    """One-sided CUSUM over rows (weeks) for every column at once. ``increments`` are NaN
    where a week has no value (the statistic stays); ``back`` says per row and column that
    the series is back at its usual level (which ends a quiet period early)."""
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
        last_zero = np.where(quiet | (known & (statistic == 0.0)), row, last_zero)
        fired = np.flatnonzero(~quiet & (statistic > thresholds[row]))
        for column in fired:
            crossings.append(Crossing(row, int(column), int(last_zero[column]) + 1,
                                      float(statistic[column]), float(thresholds[row, column])))
        statistic[fired] = 0.0
        last_zero[fired] = row
        quiet_until[fired] = row + QUIET_WEEKS + 1
    return crossings


def _rolling(frame: pd.DataFrame, how: str, q: float | None = None) -> np.ndarray:
    rolling = frame.rolling(BASELINE_WEEKS, min_periods=MIN_BASELINE)
    out = rolling.quantile(q) if how == "quantile" else getattr(rolling, how)()
    return out.shift(GUARD_WEEKS).to_numpy()


def autocorrelation(adjusted: np.ndarray) -> float:
    """The panel's lag-1 autocorrelation: the median over teams of each series' own (about
    its median), so that long-term sickness, which holds a small team's level up for weeks,
    counts as the persistence it is."""
    found = []
    for column in adjusted.T:
        x = column - np.nanmedian(column) if np.isfinite(column).any() else column
        a, b = x[1:], x[:-1]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 26 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
            found.append(np.corrcoef(a[ok], b[ok])[0, 1])
    return float(np.clip(np.median(found), 0.0, 0.9)) if found else 0.0


def level_statistics(values: np.ndarray, worse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardized increments (worse positive), the usual level, and the usual spread."""
    frame = pd.DataFrame(values)
    usual = _rolling(frame, "median")
    spread = _rolling(frame, "std")
    floor = np.nanmedian(spread) * 0.25 if np.isfinite(spread).any() else 1e-9
    spread = np.maximum(np.nan_to_num(spread, nan=np.inf), max(floor, 1e-9))
    with np.errstate(invalid="ignore"):
        z = np.clip(worse * (values - usual) / spread, -CLIP, CLIP)
    return z, usual, spread


def back_at_usual(z: np.ndarray) -> np.ndarray:
    recent = pd.DataFrame(z).rolling(4, min_periods=2).mean().to_numpy()
    return np.nan_to_num(recent, nan=np.inf) < BACK_AT_USUAL


def bootstrap_threshold(z: np.ndarray, seed: int = 0) -> float | None:
    """The threshold at which the panel's own weeks, resampled in blocks, give ``BUDGET``
    alerts per series-year; None when the panel is too small to resample (under
    ``BOOTSTRAP_MIN_YEARS`` series-years).

    Blocks of ``BLOCK_WEEKS`` consecutive standardized weeks, drawn from every team, keep what
    makes small teams' series hard — autocorrelation, long-term sickness, skew — in the
    simulated series, which no textbook distribution does. A panel also holds teams whose
    figures really changed, and their weeks after the change would teach the threshold that
    a change is chance: blocks whose mean lies more than ``TRIM_BLOCKS`` robust standard
    deviations above the typical block's (the median and the MAD of all blocks' means) are
    left out, which on panels without changes leaves out about one block in a hundred."""
    columns = [column[np.isfinite(column)] for column in z.T]
    columns = [c for c in columns if len(c) >= BLOCK_WEEKS]
    if sum(len(c) for c in columns) / YEAR < BOOTSTRAP_MIN_YEARS:
        return None
    weeks = np.concatenate(columns)
    ends = np.cumsum([len(c) for c in columns])
    starts = np.concatenate([np.arange(end - len(c), end - BLOCK_WEEKS + 1)
                             for c, end in zip(columns, ends, strict=True)])
    sums = np.concatenate([[0.0], np.cumsum(weeks)])
    means = (sums[starts + BLOCK_WEEKS] - sums[starts]) / BLOCK_WEEKS
    middle = np.median(means)
    mad = 1.4826 * np.median(np.abs(means - middle))
    starts = starts[means <= middle + TRIM_BLOCKS * mad]
    rng = np.random.default_rng(seed)
    n_blocks = int(np.ceil(BOOTSTRAP_YEARS * YEAR / BLOCK_WEEKS))
    picks = starts[rng.integers(0, len(starts), size=(n_blocks, BOOTSTRAP_SERIES))]
    # rows: the weeks of block after block; columns: the simulated series
    index = (picks[:, None, :] + np.arange(BLOCK_WEEKS)[None, :, None]).reshape(
        n_blocks * BLOCK_WEEKS, BOOTSTRAP_SERIES)
    series = weeks[index]
    years = series.shape[0] * BOOTSTRAP_SERIES / YEAR
    back = back_at_usual(series)
    lo, hi = 1.0, 40.0
    for _ in range(14):  # bisection: the alert rate falls as the threshold rises
        mid = (lo + hi) / 2
        rate = len(cusum(series - REFERENCE, np.full(series.shape, mid), back)) / years
        lo, hi = (mid, hi) if rate > BUDGET else (lo, mid)
    return hi


def detect_levels(values: np.ndarray, worse: int, threshold_of_phi) -> tuple[list[Crossing], dict]:
    """Level CUSUM over a panel of seasonally adjusted values (rows weeks, columns teams):
    the threshold from resampling the panel's own weeks, or, for a small panel, from the
    simulated table by its autocorrelation (the higher of the two when both are known)."""
    phi = autocorrelation(values)
    z, usual, spread = level_statistics(values, worse)
    resampled = bootstrap_threshold(z)
    threshold = threshold_of_phi(phi) if resampled is None else \
        max(resampled, threshold_of_phi(phi))
    thresholds = np.full(values.shape, threshold)
    crossings = cusum(z - REFERENCE, thresholds, back_at_usual(z))
    return crossings, {"phi": phi, "usual": usual, "spread": spread, "z": z}


def detect_counts(counts: np.ndarray, factors: np.ndarray, threshold_of_rate) -> tuple[
        list[Crossing], dict]:
    """Poisson CUSUM for a rise of each column's usual rate (``factors``: the seasonal
    rate factor per row and column)."""
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
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (counts - expected) / deviation
    crossings = cusum(increments, thresholds, back_at_usual(z))
    return crossings, {"rate": rate, "expected": expected}


def beyond_sickness(temp_share: np.ndarray, sick_leave: np.ndarray) -> np.ndarray:
    """Temp share less what the team's sick leave of the same week explains: temps cover
    sickness, and sick leave is watched by itself, so what the coach hears of temps is their
    creeping up beyond that (and a long-term sick spell, which raises both for weeks, does not
    count twice). The slope is the panel's (deviations from each team's median), and only
    taken out when temps rise with sickness."""
    t = temp_share - np.nanmedian(temp_share, axis=0)
    s_ = sick_leave - np.nanmedian(sick_leave, axis=0)
    both = np.isfinite(t) & np.isfinite(s_)
    if both.sum() < 52 or np.var(s_[both]) <= 0:
        return temp_share
    slope = float(np.sum(t[both] * s_[both]) / np.sum(s_[both] ** 2))
    if slope <= 0:
        return temp_share
    return temp_share - slope * np.where(np.isfinite(s_), s_, 0.0)


# -- the scan: tidy series in, alerts out ----------------------------------------------------

def scan(series: pd.DataFrame) -> list[Alert]:
    """Alerts for a tidy frame with columns team, metric, week (index), value. Every week an
    alert would have been raised is reported (as the bot would have sent it then)."""
    from metrics.drift_thresholds import count_threshold, level_threshold, years_by_chance

    alerts: list[Alert] = []
    unknown = sorted(set(series["metric"]) - set(METRICS))
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not watched for drift; the metrics are "
                         f"{', '.join(METRICS)}")
    first, last = int(series["week"].min()), int(series["week"].max())
    for metric, part in series.groupby("metric", sort=True):
        wide = part.pivot_table(index="week", columns="team", values="value", aggfunc="mean")
        all_weeks = np.arange(first, last + 1)
        wide = wide.reindex(all_weeks)
        values = wide.to_numpy(dtype=float)
        woy = week_of_year(all_weeks)
        teams = list(wide.columns)
        worse = METRICS[metric]
        if metric in COUNTS:
            _adjusted, factors = seasonal_adjust(values, woy, multiplicative=True)
            crossings, info = detect_counts(values, factors, count_threshold)
            for c in crossings:
                alerts.append(Alert(
                    teams[c.column], metric, int(all_weeks[c.row]), int(all_weeks[c.start_row]),
                    float(info["rate"][c.row, c.column]),
                    float(np.nanmean(values[c.start_row:c.row + 1, c.column])),
                    c.statistic, c.threshold,
                    float(np.sqrt(info["expected"][c.row, c.column])),
                    years_by_chance("count", c.statistic, info["expected"][c.row, c.column])))
            continue
        adjusted, profile = seasonal_adjust(values, woy)
        if metric == "temp_share" and (series["metric"] == "sick_leave").any():
            sick = series[series["metric"] == "sick_leave"].pivot_table(
                index="week", columns="team", values="value", aggfunc="mean").reindex(
                index=all_weeks, columns=teams).to_numpy(dtype=float)
            adjusted = beyond_sickness(adjusted, seasonal_adjust(sick, woy)[0])
        crossings, info = detect_levels(adjusted, worse, level_threshold)
        for c in crossings:
            usual = info["usual"][c.row, c.column] + np.nanmean(
                profile[c.start_row:c.row + 1, c.column])
            alerts.append(Alert(
                teams[c.column], metric, int(all_weeks[c.row]), int(all_weeks[c.start_row]),
                float(usual), float(np.nanmean(values[c.start_row:c.row + 1, c.column])),
                c.statistic, c.threshold, float(info["spread"][c.row, c.column]),
                years_by_chance("level", c.statistic, info["phi"])))
    alerts.sort(key=lambda a: (a.week, a.team, a.metric))
    return alerts


def alerts_frame(alerts: list[Alert]) -> pd.DataFrame:
    """The contract's ALERTS columns (weeks as labels)."""
    return pd.DataFrame([{
        "team": a.team, "metric": a.metric, "week": iso_weeks.label(a.week),
        "direction": a.direction, "baseline": a.baseline, "current": a.current,
        "start_week": iso_weeks.label(a.start_week)} for a in alerts],
        columns=["team", "metric", "week", "direction", "baseline", "current", "start_week"])
