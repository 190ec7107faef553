"""How well the capacity forecasts work (issue 7).

Simulates weekly demand hours for 200 team x professional-group pairs with two to three years
of history: levels from 40 to 600 hours, a yearly season (a winter rise and a summer dip of
different depths), trends, autocorrelated noise, lasting level shifts (a citizen with much
care arrives or leaves) and the Christmas dip. ``--calm`` uses the earlier, calmer year-to-year
movement. From 26 rolling origins in the last
half year it forecasts 1-8 weeks ahead with ``metrics.forecast`` and prints the mean absolute
error relative to that of the seasonal-naive forecast (the same week a year before; and a
level-adjusted seasonal naive, which scales it by the last quarter's change), the coverage of
the 80 % intervals, and the time to forecast all pairs once.

Targets: relative MAE <= 0.65 on average; 80 % intervals holding 75-85 % of outcomes.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics import forecast, weeks
from metrics.weeks import numbers as week_of_year

FIRST = weeks.parse("2023-W01")
HORIZON = 8
ORIGINS = 26
# How a team's demand moves from year to year: a trend (share of the level a year) and lasting
# level shifts as citizens with much care arrive or leave (about four a year). Calibrated so
# that the level-adjusted seasonal naive scores about 0.78, the figure issue 7 gives for the
# demand it means; an earlier, calmer setting (trend 0.06, one shift of 0.06 a year) gave it
# 0.88 (and the model 0.71).
MOVEMENT = (0.08, 4 / 52, 0.04)  # trend sd, level shifts per week, shift sd
CALM = (0.06, 1 / 52, 0.06)


def simulate(n_pairs: int, rng: np.random.Generator,
             movement: tuple[float, float, float] = MOVEMENT) -> list[np.ndarray]:
    trend_sd, shift_rate, shift_sd = movement
    out = []
    for _ in range(n_pairs):
        n = int(rng.integers(104, 157))
        t = np.arange(n)
        woy = week_of_year(FIRST + t)
        level = np.exp(rng.uniform(np.log(40), np.log(600)))
        winter = rng.uniform(0.03, 0.12) * np.cos((woy - 4) / 52 * 2 * np.pi)
        summer = -rng.uniform(0.0, 0.15) * np.exp(-0.5 * ((woy - 29) / 2.5) ** 2)
        christmas = -rng.uniform(0.05, 0.2) * (woy >= 52)
        trend = rng.normal(0, trend_sd) * t / 52
        noise = np.zeros(n)
        shocks = rng.normal(0, rng.uniform(0.03, 0.08), n)
        for i in range(1, n):
            noise[i] = 0.4 * noise[i - 1] + shocks[i]
        shifts = np.zeros(n)
        for at in np.flatnonzero(rng.random(n) < shift_rate):
            shifts[at:] += rng.normal(0, shift_sd)
        values = level * (1 + winter + summer + christmas + trend + shifts + noise)
        values[rng.random(n) < 0.01] = np.nan
        out.append(np.maximum(values, 0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calm", action="store_true",
                        help="trend 0.06 and one level shift of 0.06 a year")
    args = parser.parse_args()
    series = simulate(args.pairs, np.random.default_rng(args.seed),
                      CALM if args.calm else MOVEMENT)
    names = ("model", "seasonal naive", "level-adjusted seasonal naive")
    per_pair = {name: [] for name in names}  # each pair's mean absolute error
    inside = total = 0
    started = time.perf_counter()
    for values in series:
        errors: dict[str, list[float]] = {name: [] for name in names}
        n = len(values)
        w = FIRST + np.arange(n)
        for origin in range(n - ORIGINS - HORIZON, n - HORIZON):
            history, actual = values[:origin + 1], values[origin + 1:origin + 1 + HORIZON]
            ok = np.isfinite(actual)
            made = forecast.forecast(history, w[:origin + 1], HORIZON)
            naive = forecast.seasonal_naive(history, HORIZON)
            recent, year_ago = np.nanmean(history[-13:]), np.nanmean(history[-65:-52])
            adjusted = naive * (recent / year_ago if year_ago > 0 else 1.0)
            for name, predicted in (("model", made.mean), ("seasonal naive", naive),
                                    ("level-adjusted seasonal naive", adjusted)):
                use = ok & np.isfinite(predicted)
                errors[name].append(np.abs(actual[use] - predicted[use]).mean()
                                    if use.any() else np.nan)
            inside += int(((actual >= made.lower) & (actual <= made.upper))[ok].sum())
            total += int(ok.sum())
        for name in names:
            per_pair[name].append(np.nanmean(errors[name]))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    for values in series:
        forecast.forecast(values, FIRST + np.arange(len(values)), HORIZON)
    once = time.perf_counter() - started
    naive = np.array(per_pair["seasonal naive"])
    print(f"FORECAST: {len(series)} pairs, {ORIGINS} origins, horizons 1-{HORIZON} "
          f"({seconds:.0f} s in all)")
    for name in names:
        ratio = np.array(per_pair[name]) / naive
        print(f"  {name:<32} MAE relative to seasonal naive, mean over pairs: "
              f"{np.nanmean(ratio):.3f} (median {np.nanmedian(ratio):.3f})")
    print(f"  80 % intervals held {inside / total:.1%} of the outcomes (target 75-85 %)")
    print(f"  forecasting all {len(series)} pairs once took {once:.1f} s "
          f"(target: relative MAE <= 0.65)")


if __name__ == "__main__":
    main()
