"""Capacity per team and professional group, week by week: the hours a team has, the hours its
citizens need and the norm — the back office's view. Pure functions of data frames; no I/O.

For a team, a professional group and a week:

- *contracted*: the weekly contracted hours of the group's staff whose employment overlaps
  the week (as the contract's ``contracted``);
- *absence*: the hours those staff registered as sick, child sick, vacation, course or other
  absence;
- *available*: in past weeks, contracted minus absence; in coming weeks, the contracted hours
  of the staff employed then (known starts and ends count) times one minus the expected absence
  rate — the team's own rate of the last 13 weeks without vacation, plus its vacation rate in
  the same three weeks a year earlier (the last 13 weeks' when the history is shorter);
- *worked* and *temp*: worked hours of the group's staff and temp hours registered for the
  group (temp rows without a profession count as ``other``);
- *client hours*: delivered visit hours by the group's staff; visits by people not on the staff
  list (agency temps) are shared out over the groups of the team's temp hours;
- *needed*: client hours divided by the target productivity (the middle of the norm band); in
  coming weeks from the forecast of the group's client hours (``metrics.forecast``), with its
  80 % interval;
- *norm*: the budgeted hours of the norms export valid that week.

The gap is available minus needed: below zero, the group is short. One FTE is 37 hours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics import forecast as forecasting

# The professions of the data contract, in the order they are shown.
PROFESSIONS = ("nurse", "sosu_assistant", "sosu_helper", "physio", "ot", "pedagogue",
               "case_officer", "other")
FTE_HOURS = 37.0
HORIZON = 8
PAST_WEEKS = 13
RATE_WEEKS = 13  # the recent weeks whose absence sets the expected rate
TARGET_PRODUCTIVITY = 0.625  # the middle of the contract's norm band, 0.60-0.65
ABSENCE_KINDS = ("sick", "child_sick", "vacation", "course", "other_absence")
MAX_ABSENCE_RATE = 0.9
SIGNIFICANT_FTE = 0.5  # a gap smaller than this is within the week-to-week noise
SHARE_WEEKS = 2  # lending staff for fewer weeks running is not worth suggesting
RECRUIT_WEEKS = 4  # a shortage in each of the horizon's last weeks outlasts the forecast
FALLBACK_SPREAD = 0.25  # the relative half-width of the interval when a group has < 4 weeks


@dataclass(frozen=True)
class TeamRecords:
    """What the model needs of one team, as the storage layer reads it (weeks are indexes,
    ``metrics.weeks``)."""

    staff: pd.DataFrame  # employee_id, profession, contracted_hours, start_week, end_week (NaN)
    hours: pd.DataFrame  # week, employee_id (None for temps), kind, profession (None), hours
    visits: pd.DataFrame  # week, employee_id, client_hours (delivered visits)
    norms: pd.DataFrame  # profession, week (the first week it holds), hours_per_week


@dataclass(frozen=True)
class GroupPlan:
    profession: str
    weeks: np.ndarray  # the past weeks, then the coming ones
    coming: int  # how many of ``weeks`` (the last ones) are forecast
    available: np.ndarray
    needed: np.ndarray
    needed_low: np.ndarray  # the 80 % interval of needed (in past weeks, needed itself)
    needed_high: np.ndarray
    norm: np.ndarray  # NaN where the norms export has none
    worked: np.ndarray  # NaN in coming weeks
    temp: np.ndarray  # NaN in coming weeks
    visiting: bool  # the group delivers visits (else needed means nothing)

    @property
    def gap(self) -> np.ndarray:
        """Available minus needed, in hours (below zero: short)."""
        return self.available - self.needed

    @property
    def coming_weeks(self) -> np.ndarray:
        return self.weeks[-self.coming:]

    @property
    def coming_gap(self) -> np.ndarray:
        return self.gap[-self.coming:]


@dataclass(frozen=True)
class TeamPlan:
    team: str
    last_week: int  # the last complete week; the forecast starts after it
    absence_rate: np.ndarray  # expected, in each coming week
    groups: tuple[GroupPlan, ...]

    def group(self, profession: str) -> GroupPlan:
        return next(g for g in self.groups if g.profession == profession)


Forecaster = Callable[[np.ndarray, np.ndarray, int], forecasting.Forecast]


# -- week by week ------------------------------------------------------------------------------

def _professions_at(staff: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """The profession of each (week, employee_id) row of ``frame``: of the employment that
    began last on or before the week, else of the employee's first one; NaN for people not
    on the staff list."""
    if frame.empty or staff.empty:
        return pd.Series(np.nan, index=frame.index, dtype=object)
    known = (staff[["employee_id", "start_week", "profession"]]
             .sort_values(["start_week", "employee_id"], kind="stable"))
    left = frame[["week", "employee_id"]].copy()
    left["week"] = left["week"].astype(np.int64)
    left["_row"] = np.arange(len(left))
    known = known.assign(start_week=known["start_week"].astype(np.int64))
    found = pd.merge_asof(left.sort_values("week", kind="stable"), known, left_on="week",
                          right_on="start_week", by="employee_id", direction="backward")
    first = known.drop_duplicates("employee_id").set_index("employee_id")["profession"]
    found["profession"] = found["profession"].fillna(found["employee_id"].map(first))
    return pd.Series(found.sort_values("_row")["profession"].to_numpy(), index=frame.index)


def weekly(records: TeamRecords, first_week: int, last_week: int) -> pd.DataFrame:
    """Hours by (profession, week) for the weeks ``first_week..last_week``: contracted,
    absence, vacation, worked, temp, client_hours and norm (NaN: none)."""
    span = np.arange(first_week, last_week + 1)
    n = len(span)
    columns = ("contracted", "absence", "vacation", "worked", "temp", "client_hours")
    sums: dict[str, dict[str, np.ndarray]] = {}

    def add(profession: str, column: str, offsets: np.ndarray, values: np.ndarray) -> None:
        arrays = sums.setdefault(profession, {c: np.zeros(n) for c in columns})
        np.add.at(arrays[column], offsets, values)

    for row in records.staff.itertuples(index=False):
        start = max(int(row.start_week), first_week)
        end = last_week if pd.isna(row.end_week) else min(int(row.end_week), last_week)
        if start <= end:
            offsets = np.arange(start - first_week, end - first_week + 1)
            add(row.profession, "contracted", offsets,
                np.full(len(offsets), float(row.contracted_hours)))

    hours = records.hours[(records.hours["week"] >= first_week)
                          & (records.hours["week"] <= last_week)]
    temps = hours[hours["kind"] == "temp"]
    temp_groups = temps["profession"].where(
        temps["profession"].notna() & (temps["profession"] != ""), "other")
    for profession, part in temps.groupby(temp_groups.to_numpy()):
        add(profession, "temp", part["week"].to_numpy() - first_week,
            part["hours"].to_numpy(float))
    own = hours[hours["kind"] != "temp"]
    own = own.assign(group=_professions_at(records.staff, own).fillna("other"))
    for (profession, kind), part in own.groupby(["group", "kind"]):
        offsets, values = part["week"].to_numpy() - first_week, part["hours"].to_numpy(float)
        if kind == "worked":
            add(profession, "worked", offsets, values)
        elif kind in ABSENCE_KINDS:
            add(profession, "absence", offsets, values)
            if kind == "vacation":
                add(profession, "vacation", offsets, values)

    visits = records.visits[(records.visits["week"] >= first_week)
                            & (records.visits["week"] <= last_week)]
    groups = _professions_at(records.staff, visits)
    for profession, part in visits[groups.notna()].groupby(groups[groups.notna()].to_numpy()):
        add(profession, "client_hours", part["week"].to_numpy() - first_week,
            part["client_hours"].to_numpy(float))
    unknown = visits[groups.isna()]
    if not unknown.empty:  # agency temps: shared out as the team's temp hours are
        mix = temps.groupby(temp_groups.to_numpy())["hours"].sum()
        mix = mix[mix > 0] / mix[mix > 0].sum() if (mix > 0).any() else pd.Series({"other": 1.0})
        by_week = unknown.groupby("week")["client_hours"].sum()
        for profession, share in mix.items():
            add(profession, "client_hours", by_week.index.to_numpy() - first_week,
                by_week.to_numpy(float) * share)

    for profession in records.norms["profession"].unique():
        sums.setdefault(profession, {c: np.zeros(n) for c in columns})
    frames = []
    for profession in _ordered(sums):
        frame = pd.DataFrame(sums[profession], index=span)
        frame["norm"] = _norms(records.norms, profession, span)
        frame.insert(0, "profession", profession)
        frames.append(frame.rename_axis("week").reset_index())
    if not frames:
        return pd.DataFrame(columns=[*columns, "norm"], dtype=float,
                            index=pd.MultiIndex.from_tuples([], names=["profession", "week"]))
    return pd.concat(frames, ignore_index=True).set_index(["profession", "week"])


def _ordered(professions: Iterable[str]) -> list[str]:
    rank = {p: i for i, p in enumerate(PROFESSIONS)}
    return sorted(professions, key=lambda p: (rank.get(p, len(rank)), p))


def _norms(norms: pd.DataFrame, profession: str, span: np.ndarray) -> np.ndarray:
    mine = norms[norms["profession"] == profession].sort_values("week", kind="stable")
    out = np.full(len(span), np.nan)
    for row in mine.itertuples(index=False):  # a later norm replaces an earlier one
        out[span >= int(row.week)] = float(row.hours_per_week)
    return out


# -- the plan ----------------------------------------------------------------------------------

def expected_absence_rate(table: pd.DataFrame, last_week: int,
                          coming: Sequence[int]) -> np.ndarray:
    """The team's expected absence rate in each coming week (see the module's docstring)."""
    if table.empty:
        return np.zeros(len(coming))
    total = table.groupby(level="week")[["contracted", "absence", "vacation"]].sum()
    recent = total.loc[last_week - RATE_WEEKS + 1:last_week]
    contracted = recent["contracted"].sum()
    if contracted <= 0:
        return np.zeros(len(coming))
    other = (recent["absence"] - recent["vacation"]).sum() / contracted
    vacation_recent = recent["vacation"].sum() / contracted
    rates = []
    for week in coming:
        year_ago = total.loc[week - 53:week - 51]
        if len(year_ago) == 3 and year_ago["contracted"].sum() > 0:
            vacation = year_ago["vacation"].sum() / year_ago["contracted"].sum()
        else:
            vacation = vacation_recent
        rates.append(min(MAX_ABSENCE_RATE, max(0.0, other + vacation)))
    return np.array(rates)


def contracted_ahead(staff: pd.DataFrame, profession: str, coming: Sequence[int]) -> np.ndarray:
    """The contracted hours of the group's staff employed in each coming week."""
    mine = staff[staff["profession"] == profession]
    out = np.zeros(len(coming))
    for i, week in enumerate(coming):
        active = (mine["start_week"] <= week) & (mine["end_week"].isna()
                                                  | (mine["end_week"] >= week))
        out[i] = mine.loc[active, "contracted_hours"].sum()
    return out


def _demand_forecast(history: np.ndarray, weeks: np.ndarray, horizon: int,
                     forecaster: Forecaster) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forecast of a group's client hours with its interval; on fewer than four weeks with
    hours, their mean with a fixed relative interval."""
    known = history[np.isfinite(history)]
    if np.count_nonzero(known) >= 4:
        made = forecaster(history, weeks, horizon)
        return made.mean, made.lower, made.upper
    mean = np.full(horizon, float(known.mean()) if known.size else 0.0)
    return mean, mean * (1 - FALLBACK_SPREAD), mean * (1 + FALLBACK_SPREAD)


def plan(team: str, records: TeamRecords, last_week: int, *, horizon: int = HORIZON,
         past: int = PAST_WEEKS, target_productivity: float = TARGET_PRODUCTIVITY,
         forecaster: Forecaster | None = None) -> TeamPlan:
    """The team's capacity per group over the ``past`` weeks to ``last_week`` and the
    ``horizon`` weeks after it. The forecast uses all of ``records``' history."""
    forecaster = forecaster or forecasting.forecast
    data_weeks = pd.concat([records.hours["week"], records.visits["week"]])
    first = int(min(data_weeks.min(), last_week - past + 1)) if len(data_weeks) else \
        last_week - past + 1
    table = weekly(records, first, last_week)
    coming = np.arange(last_week + 1, last_week + horizon + 1)
    rate = expected_absence_rate(table, last_week, coming)
    # weeks in which the team registered nothing at all are unknown, not zero
    active = pd.Index(data_weeks.unique())
    shown = np.arange(last_week - past + 1, last_week + 1)
    groups = []
    for profession in table.index.get_level_values("profession").unique():
        rows = table.loc[profession]
        demand = rows["client_hours"].where(rows.index.isin(active)).to_numpy(float)
        recent = rows.loc[shown]
        visiting = bool(recent["client_hours"].sum() > 0)
        if visiting:
            mean, low, high = _demand_forecast(demand, rows.index.to_numpy(), horizon,
                                               forecaster)
        else:
            mean = low = high = np.zeros(horizon)
        past_needed = recent["client_hours"].to_numpy(float) / target_productivity
        future_norm = _norms(records.norms, profession, coming)
        groups.append(GroupPlan(
            profession=profession,
            weeks=np.concatenate([shown, coming]),
            coming=horizon,
            available=np.concatenate([
                (recent["contracted"] - recent["absence"]).clip(lower=0).to_numpy(float),
                contracted_ahead(records.staff, profession, coming) * (1 - rate)]),
            needed=np.concatenate([past_needed, mean / target_productivity]),
            needed_low=np.concatenate([past_needed, low / target_productivity]),
            needed_high=np.concatenate([past_needed, high / target_productivity]),
            norm=np.concatenate([recent["norm"].to_numpy(float), future_norm]),
            worked=np.concatenate([recent["worked"].to_numpy(float), np.full(horizon, np.nan)]),
            temp=np.concatenate([recent["temp"].to_numpy(float), np.full(horizon, np.nan)]),
            visiting=visiting,
        ))
    return TeamPlan(team, last_week, rate, tuple(groups))


# -- across teams ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shortage:
    """A team's group over the coming weeks: its gap each week, most urgent first when sorted."""

    team: str
    profession: str
    weeks: np.ndarray
    gap_fte: np.ndarray  # available minus needed, in FTE (below zero: short)

    @property
    def first_short(self) -> int | None:
        """The first coming week short by at least ``SIGNIFICANT_FTE``; None: none."""
        short = np.flatnonzero(self.gap_fte <= -SIGNIFICANT_FTE)
        return int(self.weeks[short[0]]) if short.size else None

    @property
    def worst_fte(self) -> float:
        return float(self.gap_fte.min())

    @property
    def recruit(self) -> bool:
        """Short in each of the horizon's last ``RECRUIT_WEEKS`` weeks: it outlasts the
        forecast, so sharing will not do."""
        tail = self.gap_fte[-RECRUIT_WEEKS:]
        return len(tail) == RECRUIT_WEEKS and bool((tail <= -SIGNIFICANT_FTE).all())


def shortages(plans: Iterable[TeamPlan]) -> list[Shortage]:
    """Every team's visiting groups, sorted by urgency: groups that will be short first (the
    soonest, then the largest shortage), then the rest from the smallest surplus up."""
    return by_urgency([Shortage(p.team, g.profession, g.coming_weeks, g.coming_gap / FTE_HOURS)
                       for p in plans for g in p.groups if g.visiting])


def by_urgency(rows: Iterable[Shortage]) -> list[Shortage]:
    """Short groups first (the soonest, then the largest shortage), then the rest from the
    smallest surplus up."""

    def urgency(row: Shortage):
        first = row.first_short
        if first is not None:
            return (0, first, row.worst_fte, row.team, row.profession)
        return (1, 0, row.worst_fte, row.team, row.profession)

    return sorted(rows, key=urgency)


@dataclass(frozen=True)
class ShareSuggestion:
    profession: str
    giver: str  # the team with hours to spare
    taker: str  # the team short of them
    first_week: int
    last_week: int
    fte: float  # what can be shared in each of those weeks, at least


def share_suggestions(rows: Sequence[Shortage]) -> list[ShareSuggestion]:
    """Where one team's surplus and another's shortage in the same group overlap in time (in
    runs of at least ``SHARE_WEEKS`` weeks, each side by at least ``SIGNIFICANT_FTE``): who could lend how
    much, from when to when. Greedy: the most urgent shortage first, from the giver that covers
    most of it; what is lent is taken off the giver's surplus, so no surplus is promised
    twice."""
    found = []
    for profession in dict.fromkeys(r.profession for r in rows):
        group = [r for r in rows if r.profession == profession]
        spare = {r.team: np.maximum(r.gap_fte, 0.0) for r in group}
        for taker in sorted(group, key=lambda r: r.worst_fte):
            need = np.maximum(-taker.gap_fte, 0.0)
            while True:
                best = None
                for giver in group:
                    if giver.team == taker.team or not np.array_equal(giver.weeks, taker.weeks):
                        continue
                    both = (need >= SIGNIFICANT_FTE) & (spare[giver.team] >= SIGNIFICANT_FTE)
                    for start, stop in _runs(both):
                        if stop - start < SHARE_WEEKS:
                            continue
                        fte = float(np.minimum(need[start:stop],
                                               spare[giver.team][start:stop]).min())
                        if best is None or fte * (stop - start) > best[0]:
                            best = (fte * (stop - start), giver.team, start, stop, fte)
                if best is None:
                    break
                _score, giver_team, start, stop, fte = best
                spare[giver_team][start:stop] -= fte
                need[start:stop] -= fte
                found.append(ShareSuggestion(profession, giver_team, taker.team,
                                             int(taker.weeks[start]), int(taker.weeks[stop - 1]),
                                             fte))
    return sorted(found, key=lambda s: (-s.fte * (s.last_week - s.first_week + 1), s.taker))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


# -- temp rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TempRule:
    """A guideline of the back office: a team's temp share above ``max_share`` for ``weeks``
    weeks running is a breach."""

    max_share: float
    weeks: int


@dataclass(frozen=True)
class TempBreach:
    team: str
    rule: TempRule
    weeks_running: int  # complete weeks above the threshold, up to the last one
    current: float  # the temp share of the last week


def temp_breach(team: str, rule: TempRule, shares: Mapping[int, float | None],
                last_week: int) -> TempBreach | None:
    """The breach of ``rule`` by a team whose temp share per week is ``shares``, as of
    ``last_week``; None if the rule holds. A week without a value ends a run."""
    running = 0
    week = last_week
    while (value := shares.get(week)) is not None and value > rule.max_share:
        running += 1
        week -= 1
    if running < rule.weeks:
        return None
    return TempBreach(team, rule, running, float(shares[last_week]))
