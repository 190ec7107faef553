"""How well the coach alerts work, on a simulated panel (issue 6).

Simulates 4,000 teams x 156 weeks of the watched KPIs with the noise of small teams: staff of
10-14 who fall sick 2.6-4.2 times a year, mostly for a few days and now and then for months
(sick leave about 7 %, as in Danish and Norwegian home care, with a winter rise), temps
covering part of the sickness, autocorrelated productivity and continuity, missing weeks and
staff turnover. Half the teams get a change at a random week (a step of 1 or 1.5 standard
deviations in a level KPI, a gradual ramp, a doubled rate of sick episodes, or longer sick
episodes); a quarter get a nuisance event (a one-off flu spike, or an improvement); the rest
none. Sick leave changes as sickness does: a step (or an improvement) in it is a higher (or
lower) rate of sick episodes, set so that the expected sick leave moves by the step, and an
alert on either sick leave or sick episodes catches it, as for a doubled rate. The detector
of ``metrics.drift`` runs on the panel, and beside it a Shewhart chart
(one week beyond 3 standard deviations) and NHS England's "Making Data Count" rules on an XmR
chart (a point beyond the process limits, 7 points in a row above the mean, 7 rising in a row,
2 of 3 beyond two thirds of the limits), against the same usual level and with the same 8
quiet weeks after an alert.

Prints per scenario and method: share caught within 13 and 26 weeks, median and 90th
percentile delay, error of the estimated start week, nuisance alerts (for flu spikes also
those that the same panel without the spikes does not give: the alerts the spikes caused),
and false alerts per team-KPI-year on the weeks without change; then teampuls' 1.5-sigma steps
per KPI.

Targets at <= 0.2 false alerts per team-KPI-year: >= 90 % of 1.5-sigma steps caught within 26
weeks with median delay <= 6 weeks; >= 85 % of doubled sick-episode rates caught within 26
weeks; <= 5 % of nuisance spikes alerted; median start-week error <= 3 weeks.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics import drift, weeks  # noqa: E402

FIRST_WEEK = weeks.parse("2023-W01")
LEVELS = ("productivity", "sick_leave", "temp_share", "continuity")
SCENARIOS = ("step 1.0 sd", "step 1.5 sd", "ramp to 1.5 sd", "doubled sick episodes",
             "longer sick episodes")
NUISANCES = ("flu spike", "improvement")


@dataclass
class Event:
    team: int
    kind: str
    metric: str  # where it shows
    start: int  # row
    spike: tuple[float, float] = (0.0, 0.0)  # a flu spike: (sick leave, episodes) it added


def simulate(n_teams: int, n_weeks: int, rng: np.random.Generator, nuisances: bool = True):
    """The panel (metric -> array [week, team]) and the events put into it; without
    ``nuisances`` the same panel (the same draws) without its flu spikes and improvements."""
    woy = drift.week_of_year(FIRST_WEEK + np.arange(n_weeks))
    winter = 1 + 0.45 * np.cos((woy - 5) / 52 * 2 * np.pi)  # most sickness in early February
    kinds = (["change"] * (n_teams // 2) + ["nuisance"] * (n_teams // 4))
    kinds += ["none"] * (n_teams - len(kinds))
    rng.shuffle(kinds)
    events: list[Event] = []
    panel = {m: np.full((n_weeks, n_teams), np.nan) for m in (*LEVELS, "sick_episodes")}
    for team in range(n_teams):
        start = int(rng.integers(60, n_weeks - 30))
        kind = kinds[team]
        scenario = SCENARIOS[team % len(SCENARIOS)] if kind == "change" else \
            NUISANCES[team % 2] if kind == "nuisance" else None
        episode_rate = np.full(n_weeks, rng.uniform(0.05, 0.08)) * winter
        spell_weeks = np.full(n_weeks, rng.uniform(0.25, 0.45))
        if scenario == "doubled sick episodes":
            episode_rate[start:] *= 2
        if scenario == "longer sick episodes":
            spell_weeks[start:] *= 2.2
        staff = int(rng.integers(10, 15))
        metric = LEVELS[(team // len(SCENARIOS)) % len(LEVELS)]
        size = {"step 1.0 sd": 1.0, "step 1.5 sd": 1.5, "ramp to 1.5 sd": 1.5,
                "improvement": -1.5 if nuisances else 0.0}.get(scenario, 0.0)
        shape = np.ones(n_weeks - start) if not (scenario or "").startswith("ramp") else \
            np.minimum(1.0, (np.arange(n_weeks - start) + 1) / 13)
        seed = int(rng.integers(2 ** 63))
        sick, episodes = _sickness(staff, episode_rate, spell_weeks, seed)
        if metric == "sick_leave" and size:
            # Sick leave moves as sickness does: more (or fewer) sick episodes, at a rate that
            # moves the expected sick leave by the step. The same people's same draws before the
            # change (a generator per person), so the series before it is the one measured.
            before = sick[:start][-52:] / staff
            raised = episode_rate.copy()
            raised[start:] *= _rate_factor(float(np.mean(before)), size * _sd(before) * shape)
            sick, episodes = _sickness(staff, raised, spell_weeks, seed)
        spike = (0.0, 0.0)
        if scenario == "flu spike":
            extra = rng.binomial(staff, 0.35) if nuisances else 0
            if not nuisances:
                rng.binomial(staff, 0.35)  # the same draws as with the spike
            sick[start] += extra * 0.8
            episodes[start] += extra
            spike = (extra * 0.8 / staff, float(extra))
        sick_leave = sick / staff
        temp_share = np.clip(0.05 + 0.35 * (sick_leave - 0.08) + _ar(n_weeks, 0.4, 0.012, rng),
                             0, 1)
        productivity = 0.62 + rng.normal(0, 0.015) + _ar(n_weeks, 0.25, 0.025, rng) \
            - 0.012 * (woy >= 27) * (woy <= 31)
        # Turnover: a new colleague now and then raises the carers per citizen for a while.
        continuity = 6 + rng.normal(0, 0.6) + _ar(n_weeks, 0.3, 0.45, rng)
        for joined in np.flatnonzero(rng.random(n_weeks) < 0.02):
            continuity[joined:joined + 8] += 0.5 * np.exp(-np.arange(min(8, n_weeks - joined)) / 3)
        series = {"productivity": productivity, "sick_leave": sick_leave,
                  "temp_share": temp_share, "continuity": continuity,
                  "sick_episodes": episodes.astype(float)}
        if size and metric != "sick_leave":
            sd = _sd(series[metric][:start])
            series[metric][start:] += drift.METRICS[metric] * size * sd * shape
        elif not size and scenario != "improvement":
            metric = {"doubled sick episodes": "sick_episodes",
                      "longer sick episodes": "sick_leave", "flu spike": "sick_leave"}.get(
                scenario, "")
        if scenario:
            events.append(Event(team, scenario, metric, start, spike))
        missing = rng.random(n_weeks) < 0.02
        for name, values in series.items():
            values = values.astype(float)
            values[missing] = np.nan
            panel[name][:, team] = values
    return panel, events


def without_spikes(panel: dict[str, np.ndarray], events: list[Event]) -> dict[str, np.ndarray]:
    """The same panel as if the flu spikes had not come: what the detector would have said
    anyway, by chance, in the weeks after a spike."""
    out = {metric: values.copy() for metric, values in panel.items()}
    for e in events:
        if e.kind == "flu spike":
            out["sick_leave"][e.start, e.team] -= e.spike[0]
            out["sick_episodes"][e.start, e.team] -= e.spike[1]
    return out


def _sickness(staff: int, episode_rate: np.ndarray, spell_weeks: np.ndarray,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sick staff-weeks and new episodes per week: short spells (a fraction of a week, or
    longer as ``spell_weeks`` says) and, rarely, long-term episodes of many weeks. Each person
    draws from a generator of their own (children of ``seed``)."""
    n = len(episode_rate)
    sick = np.zeros(n)
    episodes = np.zeros(n)
    for rng in np.random.default_rng(seed).spawn(staff):
        week = 0
        while week < n:
            if rng.random() < episode_rate[week]:
                episodes[week] += 1
                if rng.random() < 0.06:  # long-term
                    length = int(rng.geometric(1 / 9)) + 2
                    sick[week:week + length] += 1.0
                    week += length
                    continue
                length = rng.exponential(spell_weeks[week] * 5) / 5 + 0.2
                full = int(length)
                sick[week:week + full] += 1.0
                if week + full < n:
                    sick[week + full] += length - full
                week += full + 1
                continue
            week += 1
    return sick, episodes


def _rate_factor(level: float, rise: np.ndarray) -> np.ndarray:
    """The factor on the episode rate that moves a sick-leave level by ``rise``: a person is
    sick for a share r*m / (1 + r*m) of the weeks, for an episode rate r and m sick weeks an
    episode, so the odds of being sick grow with the rate. A fall goes at most to a quarter of
    the level (1.5 standard deviations below a small team's sick leave is often below zero)."""
    level = min(max(level, 0.005), 0.5)
    target = np.clip(level + rise, level / 4, 0.9)
    return (target / (1 - target)) / (level / (1 - level))


def _ar(n: int, phi: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    shocks = rng.normal(0, sd * np.sqrt(1 - phi ** 2), n)
    out[0] = rng.normal(0, sd)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def _sd(values: np.ndarray) -> float:
    """The standard deviation of a series over the year before its change."""
    return float(max(np.nanstd(values[-52:]), 1e-6))


# -- the methods ------------------------------------------------------------------------------

def run_teampuls(panel: dict[str, np.ndarray]) -> dict[str, list[drift.Crossing]]:
    frames = []
    for metric, values in panel.items():
        n_weeks, n_teams = values.shape
        frames.append(pd.DataFrame({
            "team": np.tile(np.arange(n_teams), n_weeks), "metric": metric,
            "week": np.repeat(FIRST_WEEK + np.arange(n_weeks), n_teams),
            "value": values.reshape(-1)}).dropna())
    alerts = drift.scan(pd.concat(frames))
    out: dict[str, list] = {m: [] for m in panel}
    for a in alerts:
        out[a.metric].append((int(a.team), a.week - FIRST_WEEK, a.start_week - FIRST_WEEK))
    return out


def _standardized(panel: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each series against the same usual level and spread as the detector's, worse positive."""
    woy = drift.week_of_year(FIRST_WEEK + np.arange(next(iter(panel.values())).shape[0]))
    out = {}
    for metric, values in panel.items():
        if metric in drift.COUNTS:
            _adj, factors = drift.seasonal_adjust(values, woy, multiplicative=True)
            rate = _rolling(values / factors, "mean") * factors
            with np.errstate(invalid="ignore", divide="ignore"):
                out[metric] = (values - rate) / np.sqrt(np.maximum(rate, 0.05))
        else:
            adjusted, _profile = drift.seasonal_adjust(values, woy)
            with np.errstate(invalid="ignore"):
                out[metric] = (drift.METRICS[metric] * (
                    adjusted - _rolling(adjusted, "median"))
                    / np.maximum(_rolling(adjusted, "std"), 1e-9))
    return out


def _rolling(values: np.ndarray, how: str) -> np.ndarray:
    """The detector's usual level or spread: over the 52 weeks that end 26 weeks earlier."""
    return getattr(pd.DataFrame(values).rolling(drift.BASELINE_WEEKS,
                                                min_periods=drift.MIN_BASELINE), how)() \
        .shift(drift.GUARD_WEEKS).to_numpy()


def run_rules(z: dict[str, np.ndarray], rules) -> dict[str, list]:
    out = {}
    for metric, values in z.items():
        found = []
        for team in range(values.shape[1]):
            quiet_until = -1
            series = values[:, team]
            for row in range(len(series)):
                if row < quiet_until or not np.isfinite(series[row]):
                    continue
                start = rules(series, row)
                if start is not None:
                    found.append((team, row, start))
                    quiet_until = row + drift.QUIET_WEEKS + 1
        out[metric] = found
    return out


def shewhart(series: np.ndarray, row: int) -> int | None:
    return row if series[row] > 3 else None


def making_data_count(series: np.ndarray, row: int) -> int | None:
    """NHS England's SPC rules on an XmR chart of the standardized series (mean 0; process
    limits at 2.66 mean moving ranges, about 3 standard deviations)."""
    limit = 3.0
    if series[row] > limit:
        return row
    window = series[max(0, row - 6):row + 1]
    if len(window) == 7 and np.all(np.isfinite(window)):
        if np.all(window > 0):
            return row - 6
        if np.all(np.diff(window) > 0):
            return row - 6
    last3 = series[max(0, row - 2):row + 1]
    if len(last3) == 3 and np.sum(last3 > limit * 2 / 3) >= 2 and last3[-1] > limit * 2 / 3:
        return row - 2
    return None


# -- scoring ----------------------------------------------------------------------------------

FLU_WINDOW = 8  # weeks after a flu spike in which an alert counts as the spike's


def nuisance_hits(found: dict[str, list], events: list[Event], nuisance: str) -> set[int]:
    """The teams whose nuisance event was followed by an alert on the metrics it touches."""
    window = FLU_WINDOW if nuisance == "flu spike" else 26
    hit = set()
    for e in events:
        if e.kind != nuisance:
            continue
        metrics = ("sick_leave", "sick_episodes") if nuisance == "flu spike" else (e.metric,)
        if any(t == e.team and e.start <= row < e.start + window
               for m in metrics for t, row, _start in found.get(m, [])):
            hit.add(e.team)
    return hit


def _shows_in(e: Event) -> tuple[str, ...]:
    """The KPIs whose alerts count as catching a change: more sickness (more episodes, or a
    sick-leave step made of them) is caught by an alert on either of its two series."""
    if e.kind == "doubled sick episodes" or (e.metric == "sick_leave"
                                             and e.kind.startswith(("step", "ramp"))):
        return ("sick_episodes", "sick_leave")
    return (e.metric,)


def steps_by_metric(found: dict[str, list], events: list[Event],
                    scenario: str = "step 1.5 sd") -> dict[str, tuple[int, int, float]]:
    """Per KPI: the steps caught within 26 weeks, all steps, and the median delay."""
    out = {}
    for metric in LEVELS:
        delays, total = [], 0
        for e in events:
            if e.kind != scenario or e.metric != metric:
                continue
            total += 1
            rows = sorted(row for m in _shows_in(e) for t, row, _ in found[m]
                          if t == e.team and row >= e.start)
            if rows and rows[0] - e.start < 26:
                delays.append(rows[0] - e.start + 1)
        out[metric] = (len(delays), total, float(np.median(delays)) if delays else float("nan"))
    return out


def score(found: dict[str, list], events: list[Event], n_teams: int, n_weeks: int) -> dict:
    warm = drift.MIN_BASELINE + drift.GUARD_WEEKS
    by_team_metric: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for metric, alerts in found.items():
        for team, row, start in alerts:
            by_team_metric.setdefault((team, metric), []).append((row, start))
    event_of = {e.team: e for e in events}
    results: dict[str, dict] = {}
    for scenario in SCENARIOS:
        delays, errors, caught13, caught26, total = [], [], 0, 0, 0
        for e in events:
            if e.kind != scenario:
                continue
            total += 1
            metrics = _shows_in(e)
            hits = sorted((row, start) for m in metrics for row, start in
                          by_team_metric.get((e.team, m), []) if row >= e.start)
            if hits and hits[0][0] - e.start < 26:
                delay = hits[0][0] - e.start + 1
                delays.append(delay)
                errors.append(abs(hits[0][1] - e.start))
                caught26 += 1
                caught13 += delay <= 13
        results[scenario] = {
            "caught13": caught13 / max(total, 1), "caught26": caught26 / max(total, 1),
            "median": float(np.median(delays)) if delays else float("nan"),
            "p90": float(np.percentile(delays, 90)) if delays else float("nan"),
            "start_error": float(np.median(errors)) if errors else float("nan"), "n": total}
    for nuisance in NUISANCES:
        total = sum(e.kind == nuisance for e in events)
        hit = len(nuisance_hits(found, events, nuisance))
        results[nuisance] = {"alerted": hit / max(total, 1), "n": total}
    # False alerts: every team-KPI series without an event on it, over the watched weeks, and
    # the weeks before the change of the others.
    false, years = 0, 0.0
    for metric in found:
        for team in range(n_teams):
            e = event_of.get(team)
            touched = e is not None and (e.metric == metric or (
                e.metric in ("sick_leave", "sick_episodes") and e.kind != "improvement"
                and metric in ("sick_leave", "sick_episodes", "temp_share")))
            end = e.start if touched else n_weeks
            false += sum(warm <= row < end for row, _ in by_team_metric.get((team, metric), []))
            years += max(0, end - warm) / drift.YEAR
    results["false alerts per team-KPI-year"] = false / years
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=4000)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    panel, events = simulate(args.teams, args.weeks, np.random.default_rng(args.seed))
    simulated = time.perf_counter() - started
    started = time.perf_counter()
    methods = {"teampuls": run_teampuls(panel)}
    detected = time.perf_counter() - started
    calm = without_spikes(panel, events)
    anyway = {"teampuls": run_teampuls(calm)}
    z = _standardized(panel)
    methods["Shewhart 3 sd"] = run_rules(z, shewhart)
    methods["Making Data Count"] = run_rules(z, making_data_count)
    z_calm = _standardized(calm)
    anyway["Shewhart 3 sd"] = run_rules(z_calm, shewhart)
    anyway["Making Data Count"] = run_rules(z_calm, making_data_count)
    print(f"DRIFT: {args.teams} teams x {args.weeks} weeks x {len(panel)} KPIs "
          f"(simulated in {simulated:.1f} s; the teampuls detector took {detected:.1f} s)")
    scores = {name: score(found, events, args.teams, args.weeks)
              for name, found in methods.items()}
    header = f"{'scenario':<30}{'method':<20}{'in 13 w':>8}{'in 26 w':>8}{'median':>8}" \
             f"{'p90':>6}{'start err':>10}"
    print(header)
    for scenario in SCENARIOS:
        for name, s in scores.items():
            r = s[scenario]
            print(f"{scenario + f' (n={r[chr(110)]})':<30}{name:<20}{r['caught13']:>8.0%}"
                  f"{r['caught26']:>8.0%}{r['median']:>8.1f}{r['p90']:>6.1f}"
                  f"{r['start_error']:>10.1f}")
    flu = [e for e in events if e.kind == "flu spike"]
    for nuisance in NUISANCES:
        for name, s in scores.items():
            r = s[nuisance]
            line = f"{nuisance + f' (n={r[chr(110)]})':<30}{name:<20} alerted {r['alerted']:.0%}"
            if nuisance == "flu spike":
                hit = nuisance_hits(methods[name], events, nuisance)
                by_chance = nuisance_hits(anyway[name], events, nuisance)
                line += (f"; without the spike {len(by_chance) / max(len(flu), 1):.0%}; "
                         f"because of the spike {len(hit - by_chance) / max(len(flu), 1):.1%}")
            print(line)
    for name, s in scores.items():
        print(f"false alerts per team-KPI-year, {name}: "
              f"{s['false alerts per team-KPI-year']:.3f}")
    print("teampuls, step 1.5 sd by KPI: " + "; ".join(
        f"{metric} {caught}/{total} (median {median:.1f})"
        for metric, (caught, total, median) in steps_by_metric(methods["teampuls"], events).items()))
    print("targets: 1.5 sd steps >= 90 % in 26 w with median <= 6; doubled episodes >= 85 % "
          "in 26 w; flu spikes alerted <= 5 % (because of the spike: at the false-alarm budget "
          f"two metrics alert in any {FLU_WINDOW} weeks about "
          f"{2 * drift.BUDGET * FLU_WINDOW / drift.YEAR:.0%} of the time by chance); "
          "start error <= 3; false alerts <= 0.2")


if __name__ == "__main__":
    main()
