"""Thresholds of the drift detector, set by simulation to the false-alarm budget.

Levels: series without change are simulated as AR(1) with heavy-tailed innovations (Student t,
5 degrees of freedom; a small team's weeks are skewed and jumpy), each with an autocorrelation
drawn uniformly from 0 to 0.9; the detector estimates each series' autocorrelation from its
baseline as it does on real data, and the table is kept by that estimate (a bin of width 0.15
about each grid point): the threshold for an estimated autocorrelation covers the series that
truly have one a little higher, as the estimate from a year of weeks is noisy; the level
series are three years long and count from their first watched week, when the baseline is
short. Counts are simulated as negative binomial weeks (Poisson a little overdispersed, shape
20), for a grid of weekly rates. The detector (``metrics.drift``, estimating each series'
usual level and spread as it goes, exactly as on real data) runs on each with a range of
thresholds; for each grid point the table keeps the alert rate per series-year at each
threshold (``metrics.drift_rates``); ``metrics.drift_thresholds`` reads from it the threshold
where the rate falls to the budget, and the rate at higher thresholds, which says how rare a
statistic is by chance.

Run ``python -m metrics.drift_calibration`` to write ``metrics/drift_rates.py`` again (after a
change of the detector's constants); it takes a few minutes.
"""

from __future__ import annotations

import pathlib

import numpy as np

from metrics import drift

PHIS = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9)
RATES = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
LEVEL_H = tuple(float(h) for h in np.arange(2.0, 40.5, 0.5))
COUNT_H = tuple(float(h) for h in np.arange(0.5, 25.25, 0.25))
WARM_UP = drift.BASELINE_WEEKS + drift.GUARD_WEEKS
# Level series are as long as a few years of data, and count from their first watched week,
# when the baseline is short and its estimates noisy: as the detector meets most panels.
LEVEL_SERIES = 6000  # their autocorrelations spread over 0-0.9
LEVEL_YEARS = 3
LEVEL_WARM_UP = drift.MIN_BASELINE + drift.GUARD_WEEKS


def null_levels(n_series: int, n_weeks: int, phi: float | np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """AR(1) series with unit marginal variance and t(5) innovations."""
    shocks = rng.standard_t(5, size=(n_weeks + 50, n_series)) / np.sqrt(5 / 3)
    shocks *= np.sqrt(1 - phi ** 2)
    out = np.empty_like(shocks)
    out[0] = shocks[0] / np.sqrt(1 - phi ** 2)
    for t in range(1, len(shocks)):
        out[t] = phi * out[t - 1] + shocks[t]
    return out[50:]


def null_counts(n_series: int, n_weeks: int, rate: float, rng: np.random.Generator,
                shape: float = 20.0) -> np.ndarray:
    return rng.poisson(rng.gamma(shape, rate / shape, size=(n_weeks, n_series))).astype(float)


def _rates_levels(values: np.ndarray, thresholds: tuple[float, ...]) -> dict[float, np.ndarray]:
    """Per grid point of the estimated autocorrelation, alerts per series-year after the
    warm-up at each threshold (each a run of its own: episodes, and so later alerts, depend on
    the threshold); an alert counts for the estimate of its week, a week for its own."""
    _crossings, info = drift.watch(values, 1, lambda p: np.full(p.shape, np.inf),
                                   resample=False)
    u, phi = info["u"], info["phi"]
    bins = _bins(phi)
    back = drift.back_at_usual(u)
    counts: dict[float, list] = {g: [] for g in PHIS}
    for h in thresholds:
        crossings = drift.cusum(u - drift.REFERENCE, np.where(np.isfinite(phi), h, np.inf), back)
        found = np.zeros(len(PHIS))
        for c in crossings:
            if c.row >= LEVEL_WARM_UP and bins[c.row, c.column] >= 0:
                found[bins[c.row, c.column]] += 1
        for i, g in enumerate(PHIS):
            counts[g].append(found[i])
    after = bins[LEVEL_WARM_UP:]
    years = {g: max((after == i).sum(), 1) / drift.YEAR for i, g in enumerate(PHIS)}
    return {g: np.array(counts[g]) / years[g] for g in PHIS}


def _bins(phi: np.ndarray) -> np.ndarray:
    """The grid point (index into ``PHIS``) each estimate falls in; -1 where none is known."""
    grid = np.array(PHIS)
    index = np.abs(np.nan_to_num(phi, nan=-9.0)[..., None] - grid).argmin(axis=-1)
    return np.where(np.isfinite(phi), index, -1)


def _rates_counts(counts: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    years = (counts.shape[0] - WARM_UP) * counts.shape[1] / drift.YEAR
    factors = np.ones_like(counts)
    out = []
    for h in thresholds:
        crossings, _ = drift.detect_counts(counts, factors,
                                           lambda expected, h=h: np.full(expected.shape, h))
        out.append(sum(c.row >= WARM_UP for c in crossings) / years)
    return np.array(out)


def calibrate(n_series: int = 300, years: int = 10, seed: int = 47) -> dict:
    rng = np.random.default_rng(seed)
    n_weeks = WARM_UP + int(years * drift.YEAR)
    phis = rng.uniform(0.0, 0.9, LEVEL_SERIES)
    level = _rates_levels(null_levels(LEVEL_SERIES, LEVEL_WARM_UP + int(LEVEL_YEARS * drift.YEAR),
                                      phis, rng), LEVEL_H)
    count = {rate: _rates_counts(null_counts(n_series, n_weeks, rate, rng), COUNT_H)
             for rate in RATES}
    return {"level": level, "count": count, "series_years": round(n_series * years)}


def write_table(table: dict, path: pathlib.Path) -> None:
    def rows(values: np.ndarray) -> str:
        return "(" + ", ".join(f"{v:.5g}" for v in values) + ")"

    lines = [
        '"""Generated by ``python -m metrics.drift_calibration`` (see there): the drift',
        "detector's alert rate per series-year by chance, by threshold, for each autocorrelation",
        'of a level series and each weekly rate of a count series. Do not edit."""',
        "",
        f"SERIES_YEARS = {table['series_years']!r}  # of each count grid point's simulation",
        f"LEVEL_THRESHOLDS = {LEVEL_H[0]!r}, {LEVEL_H[1] - LEVEL_H[0]!r}  # first, step",
        "LEVEL = {  # estimated autocorrelation: alerts per series-year at each threshold",
        *(f"    {phi!r}: {rows(rates)}," for phi, rates in table["level"].items()),
        "}",
        f"COUNT_THRESHOLDS = {COUNT_H[0]!r}, {COUNT_H[1] - COUNT_H[0]!r}  # first, step",
        "COUNT = {  # weekly rate: alerts per series-year at each threshold",
        *(f"    {rate!r}: {rows(rates)}," for rate, rates in table["count"].items()),
        "}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_table(calibrate(), pathlib.Path(__file__).with_name("drift_rates.py"))
