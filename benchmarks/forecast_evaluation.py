"""The capacity forecaster (``metrics.forecast``) beside statsforecast's models (issue 24).

Simulates weekly demand hours of team x professional-group pairs from a FAMILY of generators
that differ in structure, and forecasts each series from 4 rolling origins (8, 16, 24 and 32
weeks before its end) 1-8 weeks ahead with our forecaster and, in the same run on the same
series, with statsforecast's MSTL, AutoARIMA, AutoETS (additive season, and its default),
AutoTheta, and the mean of AutoETS (additive season) and AutoTheta. For each family member
and overall it prints each method's mean absolute error relative to the seasonal naive's
(the same week a year earlier; per series, then the mean over series: lower is better), the
coverage of the 80 % intervals at each horizon 1-8, and the time the method took. Series are
2-4 years long and end in any week of the year.

The family (``MEMBERS``):

- ``trend``: the first simulator's demand (a winter rise, autocorrelated noise, a trend, a
  level shift now and then) with the holidays: summer weeks 28-31, Christmas (week 52 and less
  so week 1) and the moving Easter (the week of Easter Sunday, and less the one after);
- ``shifts``: no trend, but about four lasting level shifts a year (citizens with much care
  arrive or leave);
- ``growth``: a team that grows by a third to double over a few months at a random time;
- ``holidays``: deep holiday weeks (a quarter to half of the demand gone) and the weeks next to
  them moved too (work done before the summer);
- ``intermittent``: a group that works rarely (a therapist): Poisson visits of varying length,
  many weeks without hours;
- ``counts``: built differently: a log-level with AR(2) noise, a multiplicative season of two
  random harmonics, a gradual summer (weeks 26-33) and a three-week Christmas, hours as a
  Poisson count of short visits.

Held out (``--held-out``): a generator not looked at while the forecaster was tuned
(negative-binomial visits, winter and autumn school breaks, a trend that breaks), drawn with
its own seed and reported on its own.

statsforecast is a benchmark-only extra (``pip install -e '.[bench]'``); without it, or with
``--ours-only``, only our forecaster and the naive yardsticks run. ``--quick`` runs 8 series a
member instead of 40. The library's models are JIT-compiled on a warm-up series first, so
their times are of forecasting, not compiling.

Targets (issue 24): relative MAE <= 0.62 on the mean and below the best library ensemble on
each member; 80 % intervals holding 75-85 % at every horizon 1-8; all series in under a tenth
of the ensemble's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys
import time
import warnings
from typing import Callable

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dateutil.easter import easter  # noqa: E402  (a dependency of pandas)

from metrics import forecast, weeks  # noqa: E402
from metrics.weeks import numbers as week_of_year  # noqa: E402

FIRST = weeks.parse("2021-W01")
HORIZON = 8
ORIGINS = 4  # rolling origins, HORIZON weeks apart, the last HORIZON weeks before the end
SERIES_PER_MEMBER = 40
QUICK_SERIES = 8
LEVEL = 80
HOLIDAY_NUMBERS = (28, 29, 30, 31, 52)  # ISO week numbers the issue calls holiday weeks


# --- the calendar --------------------------------------------------------------------------

def _easter_weeks(index: np.ndarray) -> np.ndarray:
    """1 in the week of Easter Sunday (Maundy Thursday to Sunday), 0.5 in the week after
    (Easter Monday), 0 otherwise."""
    out = np.zeros(len(index))
    years = {weeks.monday(int(i)).year for i in (index[0], index[-1])}
    years |= set(range(min(years), max(years) + 1))
    for year in years:
        sunday = weeks.week_index(easter(year))
        out[index == sunday] = 1.0
        out[index == sunday + 1] = 0.5
    return out


class Calendar:
    def __init__(self, rng: np.random.Generator, low: int = 104, high: int = 209):
        self.n = int(rng.integers(low, high + 1))
        # each series ends in a week of its own, so the origins fall all over the year
        self.index = FIRST + int(rng.integers(0, 52)) + np.arange(self.n)
        self.woy = week_of_year(self.index)
        self.t = np.arange(self.n)
        self.easter = _easter_weeks(self.index)

    def is_(self, *numbers: int) -> np.ndarray:
        return np.isin(self.woy, numbers).astype(float)


def _ar(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    shocks = rng.normal(0, sd, n)
    out = np.zeros(n)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


def _shifts(rng: np.random.Generator, n: int, per_year: float, sd: float) -> np.ndarray:
    out = np.zeros(n)
    for at in np.flatnonzero(rng.random(n) < per_year / 52):
        out[at:] += rng.normal(0, sd)
    return out


def _holidays(rng: np.random.Generator, cal: Calendar, depth: float = 1.0) -> np.ndarray:
    """Additive relative effects of the summer weeks 28-31, Christmas and Easter."""
    summer = -depth * rng.uniform(0.1, 0.3) * cal.is_(28, 29, 30, 31)
    christmas = -depth * rng.uniform(0.1, 0.3) * (cal.is_(52) + 0.4 * cal.is_(1))
    easter_ = -depth * rng.uniform(0.05, 0.15) * cal.easter
    return summer + christmas + easter_


def _finish(rng: np.random.Generator, cal: Calendar, values: np.ndarray,
            missing: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    values = np.maximum(values, 0.0)
    values[rng.random(cal.n) < missing] = np.nan
    return values, cal.index


def _level(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(40), np.log(600))))


# --- the family ------------------------------------------------------------------------------

def gen_trend(rng: np.random.Generator):
    cal = Calendar(rng)
    winter = rng.uniform(0.03, 0.12) * np.cos((cal.woy - 4) / 52 * 2 * np.pi)
    trend = rng.normal(0, 0.08) * cal.t / 52
    noise = _ar(rng, cal.n, 0.4, rng.uniform(0.03, 0.08))
    shifts = _shifts(rng, cal.n, 1, 0.05)
    return _finish(rng, cal, _level(rng) * (1 + winter + _holidays(rng, cal) + trend + shifts
                                            + noise))


def gen_shifts(rng: np.random.Generator):
    cal = Calendar(rng)
    winter = rng.uniform(0.0, 0.1) * np.cos((cal.woy - 4) / 52 * 2 * np.pi)
    noise = _ar(rng, cal.n, 0.3, rng.uniform(0.03, 0.07))
    shifts = _shifts(rng, cal.n, 4, 0.06)
    return _finish(rng, cal, _level(rng) * (1 + winter + _holidays(rng, cal) + shifts + noise))


def gen_growth(rng: np.random.Generator):
    cal = Calendar(rng)
    winter = rng.uniform(0.03, 0.1) * np.cos((cal.woy - 4) / 52 * 2 * np.pi)
    grow = rng.uniform(0.3, 1.0)
    middle, width = rng.uniform(0.3, 0.95) * cal.n, rng.uniform(3, 12)
    growth = 1 + grow / (1 + np.exp(-(cal.t - middle) / width))
    noise = _ar(rng, cal.n, 0.4, rng.uniform(0.03, 0.07))
    return _finish(rng, cal, _level(rng) * growth * (1 + winter + _holidays(rng, cal) + noise))


def gen_holidays(rng: np.random.Generator):
    cal = Calendar(rng)
    winter = rng.uniform(0.02, 0.08) * np.cos((cal.woy - 4) / 52 * 2 * np.pi)
    summer = -rng.uniform(0.25, 0.5) * cal.is_(28, 29, 30, 31)
    before = rng.uniform(0.0, 0.1) * cal.is_(26, 27) - rng.uniform(0.0, 0.08) * cal.is_(32)
    christmas = -rng.uniform(0.3, 0.5) * cal.is_(52) - rng.uniform(0.1, 0.25) * cal.is_(1) \
        + rng.uniform(0.0, 0.08) * cal.is_(51)
    easter_ = -rng.uniform(0.15, 0.3) * cal.easter
    trend = rng.normal(0, 0.05) * cal.t / 52
    noise = _ar(rng, cal.n, 0.3, rng.uniform(0.02, 0.06))
    return _finish(rng, cal, _level(rng) * (1 + winter + summer + before + christmas + easter_
                                            + trend + noise))


def gen_intermittent(rng: np.random.Generator):
    cal = Calendar(rng)
    rate = np.exp(rng.uniform(np.log(0.4), np.log(4.0)))  # visits a week
    length = rng.uniform(1.0, 4.0)  # hours a visit
    season = 1 + rng.uniform(0, 0.2) * np.cos((cal.woy - 4) / 52 * 2 * np.pi)
    holiday = np.clip(1 + 1.5 * _holidays(rng, cal), 0.1, None)
    drift = np.exp(rng.normal(0, 0.2) * cal.t / 52)
    visits = rng.poisson(rate * season * holiday * drift)
    hours = np.array([rng.gamma(4.0, length / 4.0, k).sum() for k in visits])
    return _finish(rng, cal, hours, missing=0.0)


def gen_counts(rng: np.random.Generator):
    """Built unlike the others: multiplicative in logs, AR(2) noise, Poisson counts."""
    cal = Calendar(rng)
    angle = 2 * np.pi * cal.woy / 52
    season = sum(rng.normal(0, a) * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
                 for k, a in ((1, 0.07), (2, 0.03)))
    summer = np.interp(cal.woy, [25, 26, 28, 30, 31, 33, 34],
                       [0, -0.1, -0.3, -0.4, -0.3, -0.1, 0]) * rng.uniform(0.4, 1.0)
    christmas = (-0.1 * cal.is_(51) - 0.45 * cal.is_(52) - 0.2 * cal.is_(1)) \
        * rng.uniform(0.5, 1.0)
    easter_ = -rng.uniform(0.1, 0.25) * cal.easter
    noise = np.zeros(cal.n)
    shocks = rng.normal(0, rng.uniform(0.02, 0.06), cal.n)
    for i in range(2, cal.n):
        noise[i] = 0.5 * noise[i - 1] + 0.3 * noise[i - 2] + shocks[i]
    trend = rng.normal(0, 0.07) * cal.t / 52
    log_hours = np.log(_level(rng)) + season + summer + christmas + easter_ + noise + trend
    visit = rng.uniform(0.5, 1.0)  # hours a visit
    values = rng.poisson(np.exp(log_hours) / visit) * visit
    return _finish(rng, cal, values.astype(float))


def gen_held_out(rng: np.random.Generator):
    """Not looked at while tuning: negative-binomial visits, school breaks, a broken trend."""
    cal = Calendar(rng)
    season = rng.uniform(0.0, 0.12) * np.sin(2 * np.pi * (cal.woy - rng.uniform(0, 52)) / 52)
    breaks = -rng.uniform(0.05, 0.2) * cal.is_(int(rng.choice([7, 8])), 42)
    summer_start = int(rng.integers(27, 29))
    summer = -rng.uniform(0.15, 0.4) * np.isin(cal.woy, range(summer_start,
                                                               summer_start + 4))
    christmas = -rng.uniform(0.15, 0.4) * cal.is_(52) - rng.uniform(0.0, 0.15) * cal.is_(1)
    easter_ = -rng.uniform(0.05, 0.2) * cal.easter
    bend = int(rng.integers(cal.n // 3, cal.n))
    slope = rng.normal(0, 0.08) * cal.t / 52 \
        + rng.normal(0, 0.1) * np.maximum(cal.t - bend, 0) / 52
    shifts = _shifts(rng, cal.n, 2, 0.06)
    mean = _level(rng) * np.maximum(1 + season + breaks + summer + christmas + easter_ + slope
                                    + shifts, 0.05)
    visit = rng.uniform(0.5, 2.0)
    dispersion = rng.uniform(20, 200)
    visits = rng.negative_binomial(dispersion, dispersion / (dispersion + mean / visit))
    return _finish(rng, cal, visits * visit, missing=0.03)


MEMBERS: dict[str, Callable] = {
    "trend": gen_trend, "shifts": gen_shifts, "growth": gen_growth, "holidays": gen_holidays,
    "intermittent": gen_intermittent, "counts": gen_counts,
}
HELD_OUT = {"held-out": gen_held_out}


def simulate(members: dict[str, Callable], per_member: int, seed: int):
    """``{member: [(values, week indexes), ...]}``; each member draws from its own stream."""
    out = {}
    for name, generator in members.items():
        # the stream of a member does not depend on which others run
        k = list(MEMBERS).index(name) if name in MEMBERS else 0
        rng = np.random.default_rng([seed, k])
        out[name] = [generator(rng) for _ in range(per_member)]
    return out


# --- the methods -----------------------------------------------------------------------------

class Result:
    """Each origin's forecast of each series: mean, lower, upper (series, origin, horizon)."""

    def __init__(self, n_series: int):
        shape = (n_series, ORIGINS, HORIZON)
        self.mean, self.lower, self.upper = (np.full(shape, np.nan) for _ in range(3))
        self.seconds = 0.0


def _origins(n: int) -> list[int]:
    """The history lengths at the origins (oldest first)."""
    return [n - HORIZON * (ORIGINS - k) for k in range(ORIGINS)]


def run_ours(series) -> Result:
    out = Result(len(series))
    started = time.process_time()
    for i, (values, index) in enumerate(series):
        for k, end in enumerate(_origins(len(values))):
            made = forecast.forecast(values[:end], index[:end], HORIZON)
            out.mean[i, k], out.lower[i, k], out.upper[i, k] = made.mean, made.lower, made.upper
    out.seconds = time.process_time() - started
    return out


def run_naive(series) -> Result:
    out = Result(len(series))
    for i, (values, _index) in enumerate(series):
        filled = forecast._fill(values)
        for k, end in enumerate(_origins(len(values))):
            out.mean[i, k] = forecast.seasonal_naive(filled[:end], HORIZON)
    return out


LIBRARY = ("MSTL", "AutoARIMA", "AutoETS (additive season)", "AutoETS", "AutoTheta")
ENSEMBLE = "mean of AutoETS (additive season) and AutoTheta"


def _library_models():
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    return {
        "MSTL": MSTL(season_length=52, alias="MSTL"),
        "AutoARIMA": AutoARIMA(season_length=52, alias="AutoARIMA"),
        "AutoETS (additive season)": AutoETS(season_length=52, model="ZZA",
                                             alias="AutoETS_A"),
        "AutoETS": AutoETS(season_length=52, alias="AutoETS"),
        "AutoTheta": AutoTheta(season_length=52, alias="AutoTheta"),
    }


def _frame(series):
    import pandas as pd

    parts = []
    for i, (values, _index) in enumerate(series):
        # the library takes no gaps: the same filling our forecaster does
        parts.append(pd.DataFrame({"unique_id": i, "ds": np.arange(len(values)),
                                   "y": forecast._fill(values)}))
    return pd.concat(parts, ignore_index=True)


def run_library(series, model, alias: str) -> Result:
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    out = Result(len(series))
    df = _frame(series)
    # a series a model cannot fit gets the seasonal naive (counted in the model's time)
    engine = StatsForecast(models=[model], freq=1, n_jobs=1,
                           fallback_model=SeasonalNaive(season_length=52))
    started = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = engine.cross_validation(h=HORIZON, df=df, n_windows=ORIGINS, step_size=HORIZON,
                                     level=[LEVEL])
    out.seconds = time.process_time() - started
    cv = cv.sort_values(["unique_id", "cutoff", "ds"])
    for i, rows in cv.groupby("unique_id"):
        shape = (ORIGINS, HORIZON)
        out.mean[i] = rows[alias].to_numpy().reshape(shape)
        out.lower[i] = rows[f"{alias}-lo-{LEVEL}"].to_numpy().reshape(shape)
        out.upper[i] = rows[f"{alias}-hi-{LEVEL}"].to_numpy().reshape(shape)
    return out


def warm_up(models: dict) -> None:
    rng = np.random.default_rng(0)
    series = [gen_trend(rng) for _ in range(2)]
    for model in models.values():
        run_library(series, model, model.alias)


def ensemble(a: Result, b: Result) -> Result:
    out = Result(a.mean.shape[0])
    out.mean, out.lower, out.upper = ((x + y) / 2 for x, y in ((a.mean, b.mean),
                                                               (a.lower, b.lower),
                                                               (a.upper, b.upper)))
    out.seconds = a.seconds + b.seconds
    return out


# --- scoring ---------------------------------------------------------------------------------

def _actuals(series) -> tuple[np.ndarray, np.ndarray]:
    """The outcomes (series, origin, horizon) and their ISO week numbers."""
    actual = np.full((len(series), ORIGINS, HORIZON), np.nan)
    woy = np.zeros_like(actual, dtype=int)
    for i, (values, index) in enumerate(series):
        for k, end in enumerate(_origins(len(values))):
            actual[i, k] = values[end:end + HORIZON]
            woy[i, k] = week_of_year(index[end:end + HORIZON])
    return actual, woy


def score(result: Result, naive: Result, actual: np.ndarray, mask: np.ndarray | None = None,
          pooled: bool = False):
    """(relative MAE: the mean over series of the MAE against the seasonal naive's, or with
    ``pooled`` the ratio of the errors summed over all series; coverage at each horizon;
    coverage overall)."""
    use = np.isfinite(actual) & np.isfinite(result.mean) & np.isfinite(naive.mean)
    if mask is not None:
        use &= mask
    error = np.where(use, np.abs(actual - result.mean), 0.0).sum(axis=(1, 2))
    yard = np.where(use, np.abs(actual - naive.mean), 0.0).sum(axis=(1, 2))
    ok = yard > 0
    if pooled:
        ratio = float(error.sum() / yard.sum()) if yard.sum() > 0 else np.nan
    else:
            ratio = float(np.mean(error[ok] / yard[ok])) if ok.any() else np.nan
    inside = (actual >= result.lower) & (actual <= result.upper) & use
    by_h = inside.sum(axis=(0, 1)) / np.maximum(use.sum(axis=(0, 1)), 1)
    return ratio, by_h, inside.sum() / max(use.sum(), 1)


def report(title: str, series, results: dict[str, Result], naive: Result) -> dict[str, float]:
    actual, woy = _actuals(series)
    print(f"\n{title}: {len(series)} series, {ORIGINS} origins, horizons 1-{HORIZON}")
    print(f"  {'method':<50}{'rel MAE':>8}{'cover':>7}  coverage h1..h8{'':<22}{'CPU time':>12}")
    ratios = {}
    for name, result in results.items():
        ratio, by_h, overall = score(result, naive, actual)
        ratios[name] = ratio
        hs = " ".join(f"{c:.2f}" for c in by_h)
        print(f"  {name:<50}{ratio:8.3f}{overall:7.2f}  {hs}{result.seconds:8.1f}s")
    holiday = np.isin(woy, HOLIDAY_NUMBERS)
    near = np.isin(woy, (26, 27, 32, 33, 50, 51, 1, 2)) & ~holiday
    ordinary = ~holiday & ~near
    print(f"  {'by week kind: pooled rel MAE / coverage':<50}{'holiday':>14}{'next to':>14}"
          f"{'ordinary':>14}")
    for name, result in results.items():
        cells = []
        for mask in (holiday, near, ordinary):
            ratio, _by_h, overall = score(result, naive, actual, mask, pooled=True)
            cells.append(f"{ratio:6.3f}/{overall:4.2f}")
        print(f"  {name:<50}" + "".join(f"{c:>14}" for c in cells))
    return ratios


_WARM: set[str] = set()


def _cached_library(series, cache: pathlib.Path | None, key: str, models: dict,
                    arima_series: int | None, cached_only: bool = False) -> dict[str, Result]:
    """The library's results on ``series``; with ``cache`` (a folder), each model's are kept
    there and reused: for development only, to iterate on our forecaster against the same
    figures, or to run the models in separate processes."""
    out = {}
    for name, model in models.items():
        part = series[:arima_series] if name == "AutoARIMA" and arima_series else series
        path = cache / f"{key}-{len(series)}-{len(part)}-{model.alias}.npz" if cache else None
        result = Result(len(series))
        if path is not None and path.exists():
            stored = np.load(path)
            done = Result(len(part))
            done.mean, done.lower, done.upper = stored["mean"], stored["lower"], stored["upper"]
            done.seconds = float(stored["seconds"])
        elif cached_only:
            continue  # not run: left out of the table
        else:
            if model.alias not in _WARM:  # compile it first: its time is not forecasting
                warm_up({name: model})
                _WARM.add(model.alias)
            done = run_library(part, model, model.alias)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, mean=done.mean, lower=done.lower, upper=done.upper,
                         seconds=done.seconds)
        for field in ("mean", "lower", "upper"):
            getattr(result, field)[:len(part)] = getattr(done, field)
        result.seconds = done.seconds
        if len(part) < len(series):
            name = f"{name} (first {len(part)} series only)"
        out[name] = result
    return out


def evaluate(groups: dict[str, list], library: dict, label: str,
             cache: pathlib.Path | None = None, seed: int = 0,
             arima_series: int | None = None, cached_only: bool = False) -> None:
    by_member: dict[str, dict[str, float]] = {}
    all_results: dict[str, list[Result]] = {}
    everything = []
    naives = []
    for member, series in groups.items():
        results = {"teampuls": run_ours(series)}
        if library:
            results.update(_cached_library(series, cache, f"{seed}-{member}", library,
                                           arima_series, cached_only))
            if "AutoETS (additive season)" in results and "AutoTheta" in results:
                results[ENSEMBLE] = ensemble(results["AutoETS (additive season)"],
                                             results["AutoTheta"])
        naive = run_naive(series)
        results["seasonal naive"] = naive
        by_member[member] = report(f"{label} member '{member}'", series, results, naive)
        for name, result in results.items():
            all_results.setdefault(name, []).append(result)
        everything.extend(series)
        naives.append(naive)
        sys.stdout.flush()
    if len(groups) > 1:
        merged = {}
        for name, parts in all_results.items():
            if len(parts) < len(groups):
                continue  # not run on every member: no overall figure
            result = Result(len(everything))
            for field in ("mean", "lower", "upper"):
                setattr(result, field, np.concatenate([getattr(p, field) for p in parts]))
            result.seconds = sum(p.seconds for p in parts)
            merged[name] = result
        report(f"{label} overall", everything, merged, merged["seasonal naive"])
    print(f"\n{label}: worst member for teampuls and its margin over the best library method")
    for member, ratios in by_member.items():
        ours = ratios["teampuls"]
        others = {k: v for k, v in ratios.items() if k not in ("teampuls", "seasonal naive")}
        line = f"  {member:<14} teampuls {ours:.3f}"
        if others:
            best = min(others, key=others.get)
            line += f"   best library: {best} {others[best]:.3f}   ours - best " \
                    f"{ours - others[best]:+.3f}"
        print(line)
    worst = max(by_member, key=lambda m: by_member[m]["teampuls"])
    print(f"  worst member: {worst} ({by_member[worst]['teampuls']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--series", type=int, default=None,
                        help=f"series per member (default {SERIES_PER_MEMBER})")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SERIES} series a member, for development")
    parser.add_argument("--ours-only", action="store_true",
                        help="leave out the library's models")
    parser.add_argument("--members", nargs="*", choices=sorted(MEMBERS), default=None)
    parser.add_argument("--held-out", action="store_true",
                        help="also the held-out generator, with its own seed, reported apart")
    parser.add_argument("--held-out-only", action="store_true")
    parser.add_argument("--models", nargs="*", choices=LIBRARY, default=None,
                        help="the library's models to run (default all)")
    parser.add_argument("--cached-only", action="store_true",
                        help="the library's models only where the cache has them")
    parser.add_argument("--arima-series", type=int, default=None,
                        help="AutoARIMA (by far the slowest) on the first K series of each "
                             "member only; its figures are then over those")
    parser.add_argument("--held-out-seed", type=int, default=2027)
    parser.add_argument("--cache", type=pathlib.Path, default=None,
                        help="a folder to keep the library's results in and reuse them "
                             "from (development only: a reported run runs them afresh)")
    args = parser.parse_args()
    per_member = args.series or (QUICK_SERIES if args.quick else SERIES_PER_MEMBER)
    library = not args.ours_only
    if library:
        try:
            import statsforecast  # noqa: F401
        except ImportError:
            print("statsforecast is not installed (pip install -e '.[bench]'): ours only")
            library = False
    if library and args.cache:
        print(f"library results from and into the cache {args.cache} where there")
    models = {k: v for k, v in _library_models().items()
              if not args.models or k in args.models} if library else {}
    members = {k: v for k, v in MEMBERS.items() if not args.members or k in args.members}
    if not args.held_out_only:
        evaluate(simulate(members, per_member, args.seed), models, "FAMILY", args.cache,
                 args.seed, args.arima_series, args.cached_only)
    if args.held_out or args.held_out_only:
        evaluate(simulate(HELD_OUT, per_member, args.held_out_seed), models, "HELD OUT",
                 args.cache, args.held_out_seed, args.arima_series, args.cached_only)
    print("\nTargets: teampuls rel MAE <= 0.62 overall and below the ensemble on every member; "
          "coverage 0.75-0.85 at every horizon; its time under a tenth of the ensemble's. "
          "Times are CPU seconds of this process (the\nlibrary runs single-threaded in it); the machine is shared, so they are noisy.")


if __name__ == "__main__":
    main()
