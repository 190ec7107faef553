"""Thresholds of the drift detector and how rare a statistic is by chance, read from the
simulated alert rates in ``metrics.drift_rates`` (made by ``metrics.drift_calibration``).

Between grid points the log of the rate is interpolated linearly, in the threshold and in the
autocorrelation (levels) or the log of the weekly rate (counts); beyond the highest threshold
simulated, the last slope goes on.
"""

from __future__ import annotations

import functools

import numpy as np

from metrics.drift import BUDGET


@functools.lru_cache(maxsize=None)
def _table(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid of the parameter, thresholds, log rates [parameter, threshold])."""
    from metrics import drift_rates

    rates = drift_rates.LEVEL if kind == "level" else drift_rates.COUNT
    first, step = drift_rates.LEVEL_THRESHOLDS if kind == "level" else \
        drift_rates.COUNT_THRESHOLDS
    grid = np.array(sorted(rates))
    n = len(next(iter(rates.values())))
    thresholds = first + step * np.arange(n)
    # A rate of 0 (no alert in the simulation) is taken as a tenth of one alert.
    floor = 0.1 / drift_rates.SERIES_YEARS
    logs = np.log(np.maximum(np.array([rates[g] for g in grid], dtype=float), floor))
    return grid, thresholds, logs


def _log_rate(kind: str, parameter: float, h: float) -> float:
    grid, thresholds, logs = _table(kind)
    x = parameter if kind == "level" else np.log(max(parameter, 1e-6))
    axis = grid if kind == "level" else np.log(grid)
    x = float(np.clip(x, axis[0], axis[-1]))
    j = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    w = (x - axis[j]) / (axis[j + 1] - axis[j])
    row = (1 - w) * logs[j] + w * logs[j + 1]
    row = np.minimum.accumulate(row)  # more threshold, never more alerts
    if h <= thresholds[-1]:
        return float(np.interp(h, thresholds, row))
    tail = max(5, len(row) // 5)
    slope = (row[-1] - row[-tail]) / (thresholds[-1] - thresholds[-tail])
    return float(row[-1] + min(slope, -1e-3) * (h - thresholds[-1]))


def _threshold(kind: str, parameter: float) -> float:
    """The least threshold whose rate is within the budget."""
    grid, thresholds, _logs = _table(kind)
    lo, hi = float(thresholds[0]), float(thresholds[-1]) * 2
    for _ in range(40):
        mid = (lo + hi) / 2
        if _log_rate(kind, parameter, mid) > np.log(BUDGET):
            lo = mid
        else:
            hi = mid
    return hi


@functools.lru_cache(maxsize=256)
def level_threshold(phi: float) -> float:
    """The threshold for a series whose estimated autocorrelation is ``phi``."""
    return _threshold("level", round(phi, 3))


def level_thresholds(phi: np.ndarray) -> np.ndarray:
    """Thresholds for many estimated autocorrelations at once (looked up on a fine grid)."""
    grid = np.linspace(0.0, 0.9, 91)
    # more persistence never a lower threshold (the simulated table's last bin is thin)
    values = np.maximum.accumulate([level_threshold(float(g)) for g in grid])
    return np.interp(np.clip(phi, 0.0, 0.9), grid, values)


def count_threshold(expected: np.ndarray) -> np.ndarray:
    """Thresholds for a whole panel of expected weekly counts (looked up on a fine grid)."""
    grid = np.exp(np.linspace(np.log(0.01), np.log(10.0), 61))
    values = np.array([_cached_count(float(g)) for g in grid])
    return np.interp(np.log(np.clip(expected, 0.01, 10.0)), np.log(grid), values)


@functools.lru_cache(maxsize=256)
def _cached_count(rate: float) -> float:
    return _threshold("count", rate)


def years_by_chance(kind: str, statistic: float, parameter: float) -> float:
    """A statistic at least this high happens by chance about once in so many years, for a
    series like this one (its autocorrelation, or its expected weekly count)."""
    return float(1.0 / np.exp(_log_rate(kind, parameter, statistic)))

