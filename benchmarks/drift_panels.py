"""A second, independent simulator of the coaches' KPI panels, for judging the drift detector
on data it was not tuned on (issue 23).

Built differently from ``benchmarks/drift_evaluation.py`` on purpose: sickness is simulated per
person-day-week with pre-drawn randomness (so a panel with an event and the same panel without
it share every draw), sick spells are lognormal or Pareto (heavy-tailed) in days, and each level
KPI is a per-team AR(1) series mixed with the standardized series of the KPI that drives it:

- temp share follows sick leave (the same week, or the week before: temps booked for last
  week's sick hours),
- productivity falls when sick leave rises,
- continuity worsens (more carers per citizen) when the temp share rises,

each with a strength (a correlation; 0 is no relation) and a lag of its own per setting, and a
persistence (AR(1) coefficient) drawn per team and KPI from the setting's range. Teams have 8-15
staff; 2 % of weeks are missing.

A setting (``Setting``) is one member of the family; ``simulate`` makes a panel of it and the
events put into it, and the same panel without the nuisance events (a one-week flu spike, an
improvement, a one-week spike), to measure the alerts they cause beyond chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVELS = ("productivity", "sick_leave", "temp_share", "continuity")
KPIS = (*LEVELS, "sick_episodes")
STEPPED = ("productivity", "continuity", "temp_share")  # the level KPIs given steps
WORSE = {"productivity": -1, "sick_leave": 1, "temp_share": 1, "continuity": 1,
         "sick_episodes": 1}
CHANGES = ("step 1.5 sd", "step 1.0 sd", "doubled sick episodes", "longer sick episodes")
NUISANCES = ("flu spike", "improvement", "one-week spike")


@dataclass(frozen=True)
class Setting:
    name: str
    phi: tuple[float, float]  # each team's and KPI's AR(1) coefficient, uniform in this range
    temp_on_sick: tuple[float, int]  # (correlation, lag in weeks)
    productivity_on_sick: tuple[float, int]
    continuity_on_temp: tuple[float, int]
    spells: str  # "lognormal" or "pareto": sick spells' length in days
    shocks_df: float | None = None  # Student t innovations with these degrees of freedom
    missing: float = 0.02


SETTINGS = (
    Setting("weak AR, no relations", (0.2, 0.4), (0.0, 0), (0.0, 0), (0.0, 0), "lognormal"),
    Setting("strong AR, strong lagged relations", (0.5, 0.7), (0.7, 1), (0.6, 0), (0.6, 1),
            "lognormal", shocks_df=4.0),
    Setting("mixed AR, moderate relations, heavy spells", (0.2, 0.7), (0.4, 0), (0.4, 1),
            (0.3, 0), "pareto", shocks_df=5.0),
)


@dataclass
class Event:
    team: int
    kind: str
    metric: str  # the KPI the event is put into
    start: int  # row


def _ar(phi: np.ndarray, shocks: np.ndarray) -> np.ndarray:
    """AR(1) series (rows weeks, columns teams) with unit steady-state variance."""
    out = np.empty_like(shocks)
    scale = np.sqrt(1 - phi ** 2)
    out[0] = shocks[0]
    for t in range(1, len(shocks)):
        out[t] = phi * out[t - 1] + scale * shocks[t]
    return out


def _lag(values: np.ndarray, lag: int) -> np.ndarray:
    if lag == 0:
        return values
    return np.vstack([values[:1].repeat(lag, axis=0), values[:-lag]])


def _unit(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Values standardized by the mean and standard deviation of a reference panel per team."""
    return (values - reference.mean(axis=0)) / np.maximum(reference.std(axis=0), 1e-9)


class _Draws:
    """Every random number a panel needs, drawn once, so that the panel with and without its
    nuisance events differ only by the events."""

    def __init__(self, setting: Setting, n_teams: int, n_weeks: int, rng: np.random.Generator):
        self.staff = rng.integers(8, 16, n_teams)
        self.team_of = np.repeat(np.arange(n_teams), self.staff)
        persons = len(self.team_of)
        self.onset = rng.random((n_weeks, persons))
        if setting.spells == "pareto":
            days = 1.5 * (1 + rng.pareto(1.4, (n_weeks, persons)))
        else:
            days = rng.lognormal(np.log(3.0), 1.2, (n_weeks, persons))
        self.days = np.minimum(days, 180.0)
        self.flu = rng.random(persons)
        self.rate = rng.uniform(0.04, 0.07, n_teams)  # new episodes per person-week
        self.phi = {m: rng.uniform(*setting.phi, n_teams) for m in LEVELS}

        def shocks() -> np.ndarray:
            if setting.shocks_df is None:
                return rng.standard_normal((n_weeks, n_teams))
            df = setting.shocks_df
            return rng.standard_t(df, (n_weeks, n_teams)) / np.sqrt(df / (df - 2))

        self.noise = {m: _ar(self.phi[m], shocks()) for m in ("productivity", "temp_share",
                                                              "continuity")}
        self.level = {"productivity": rng.normal(0.62, 0.02, n_teams),
                      "temp_share": rng.uniform(0.03, 0.08, n_teams),
                      "continuity": rng.normal(6.0, 0.6, n_teams)}
        self.spread = {"productivity": rng.uniform(0.018, 0.03, n_teams),
                       "temp_share": rng.uniform(0.008, 0.015, n_teams),
                       "continuity": rng.uniform(0.3, 0.5, n_teams)}
        self.missing = rng.random((n_weeks, n_teams)) < setting.missing


def _sickness(d: _Draws, rate: np.ndarray, longer: np.ndarray, flu_week: np.ndarray):
    """Sick leave (share of staff-days) and new sick episodes per week and team. ``rate``: new
    episodes per person-week [week, team]; ``longer``: a factor on spells starting then;
    ``flu_week``: per team the week a flu goes through it (-1: none), 30 % of those at work
    sick for 3 days."""
    n_weeks, n_teams = rate.shape
    persons = len(d.team_of)
    remaining = np.zeros(persons)
    sick_days = np.zeros((n_weeks, n_teams))
    episodes = np.zeros((n_weeks, n_teams))
    flu_of = flu_week[d.team_of]
    for week in range(n_weeks):
        well = remaining <= 0
        onset = well & (d.onset[week] < rate[week, d.team_of])
        remaining[onset] = d.days[week, onset] * longer[week, d.team_of[onset]]
        flu = well & ~onset & (flu_of == week) & (d.flu < 0.3)
        remaining[flu] = 3.0
        onset |= flu
        days = np.minimum(np.maximum(remaining, 0.0), 5.0)
        remaining -= 5.0
        sick_days[week] = np.bincount(d.team_of, days, minlength=n_teams)
        episodes[week] = np.bincount(d.team_of, onset, minlength=n_teams)
    return sick_days / (5.0 * d.staff), episodes


def _panel(setting: Setting, d: _Draws, events: list[Event], n_weeks: int,
           with_nuisances: bool) -> dict[str, np.ndarray]:
    n_teams = len(d.staff)
    woy = (np.arange(n_weeks) % 52) + 1
    winter = 1 + 0.35 * np.cos((woy - 5) / 52 * 2 * np.pi)
    rate = d.rate[None, :] * winter[:, None]
    longer = np.ones((n_weeks, n_teams))
    flu_week = np.full(n_teams, -1)
    for e in events:
        if e.kind == "doubled sick episodes":
            rate[e.start:, e.team] *= 2
        elif e.kind == "longer sick episodes":
            longer[e.start:, e.team] = 2.2
        elif e.kind == "flu spike" and with_nuisances:
            flu_week[e.team] = e.start
    sick_leave, episodes = _sickness(d, rate, longer, flu_week)
    # The relations, on the calm sickness of the team's first year as its yardstick.
    reference = sick_leave[:52]

    def mixed(metric: str, driver: np.ndarray | None, relation: tuple[float, int],
              sign: int) -> np.ndarray:
        c, lag = relation
        unit = d.noise[metric] * np.sqrt(1 - c ** 2)
        if driver is not None and c:
            unit = unit + sign * c * _lag(driver, lag)
        return d.level[metric] + d.spread[metric] * unit

    summer = -0.012 * ((woy >= 27) & (woy <= 31))[:, None]
    productivity = mixed("productivity", _unit(sick_leave, reference),
                         setting.productivity_on_sick, -1) + summer
    temp_share = mixed("temp_share", _unit(sick_leave, reference), setting.temp_on_sick, 1)
    temp_before = temp_share.copy()
    panel = {"productivity": productivity, "sick_leave": sick_leave, "temp_share": temp_share}
    # Steps and nuisances in the level KPIs, in the team's own steady-state standard deviations
    # (of its series without events); continuity after temps, which drive it.
    for metric in ("productivity", "temp_share"):
        _level_events(panel[metric], metric, events, with_nuisances)
    continuity = mixed("continuity", _unit(panel["temp_share"], temp_before[:52]),
                       setting.continuity_on_temp, 1)
    _level_events(continuity, "continuity", events, with_nuisances)
    panel["continuity"] = continuity
    panel["temp_share"] = np.clip(panel["temp_share"], 0.0, 1.0)
    panel["sick_episodes"] = episodes
    for metric in KPIS:
        panel[metric] = np.where(d.missing, np.nan, panel[metric])
    return panel


def _level_events(values: np.ndarray, metric: str, events: list[Event],
                  with_nuisances: bool) -> None:
    for e in events:
        if e.metric != metric:
            continue
        sd = float(np.std(values[:e.start, e.team]))
        worse = WORSE[metric]
        if e.kind.startswith("step"):
            values[e.start:, e.team] += worse * float(e.kind.split()[1]) * sd
        elif e.kind == "improvement" and with_nuisances:
            values[e.start:, e.team] -= worse * 1.5 * sd
        elif e.kind == "one-week spike" and with_nuisances:
            values[e.start, e.team] += worse * 4.0 * sd


def simulate(setting: Setting, n_teams: int, n_weeks: int, rng: np.random.Generator):
    """The panel (KPI -> array [week, team]), its events, and the same panel without the
    nuisance events. Three in five teams get a change, three in ten a nuisance, the rest
    none; each at a random week from 60 to 30 before the end."""
    d = _Draws(setting, n_teams, n_weeks, rng)
    kinds = rng.permutation(np.arange(n_teams) % 10)
    events = []
    for team in range(n_teams):
        start = int(rng.integers(60, n_weeks - 30))
        k = int(kinds[team])
        if k < 6:
            kind = CHANGES[0] if k < 2 else CHANGES[1] if k < 4 else CHANGES[k - 2]
        elif k < 9:
            kind = NUISANCES[k - 6]
        else:
            continue
        metric = {"doubled sick episodes": "sick_episodes", "longer sick episodes": "sick_leave",
                  "flu spike": "sick_leave"}.get(kind) or STEPPED[int(rng.integers(3))]
        events.append(Event(team, kind, metric, start))
    panel = _panel(setting, d, events, n_weeks, with_nuisances=True)
    calm = _panel(setting, d, events, n_weeks, with_nuisances=False)
    return panel, events, calm
