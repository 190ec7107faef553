"""Read queries over the stored KPI values.

They are plain SQL run through a ``Fetch`` (SQL with ``:name`` parameters in, row tuples out), so
the same query serves a SQLAlchemy session and the command line's quick read path
(``storage.quick_read``), which answers ``teampuls kpi`` without importing SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from metrics.benchmark import Benchmark, benchmark
from metrics.kpis import KPIS
from storage.errors import TeamError

Fetch = Callable[[str, Mapping[str, object]], list[tuple]]

_TEAM = "SELECT id, code, language FROM teams WHERE code = :code"
_CODES = "SELECT code FROM teams ORDER BY code"
_WEEK = ("SELECT t.code, k.kpi, k.value FROM kpi_values k JOIN teams t ON t.id = k.team_id "
         "WHERE k.week = :week")


def session_fetch(session) -> Fetch:
    """A Fetch over a SQLAlchemy session (in its transaction)."""
    from sqlalchemy import text

    return lambda sql, params: [tuple(row) for row in session.execute(text(sql), params)]


@dataclass(frozen=True)
class KpiReport:
    team: str
    language: str | None  # the team's own; None: the default of the settings
    week: int
    has_data: bool
    values: dict[str, float | None]
    benchmarks: dict[str, Benchmark]


def kpi_report(fetch: Fetch, team_code: str, week: int,
               values: WeekValues | None = None) -> KpiReport:
    """The team's KPIs in a week and their benchmark against every other team; ``values`` are
    the week's values (``week_values``) when the caller has them already."""
    found = fetch(_TEAM, {"code": team_code})
    if not found:
        known = [code for (code,) in fetch(_CODES, {})]
        hint = f"; known teams: {', '.join(known)}" if known else "; no teams exist yet"
        raise TeamError(f"no team with the code {team_code!r}{hint}")
    _id, code, language = found[0]
    by_kpi = week_values(fetch, week) if values is None else values
    own = {k.key: by_kpi[k.key].get(code) for k in KPIS}
    has_data = any(code in by_kpi[k.key] for k in KPIS)
    benchmarks = {k.key: benchmark(by_kpi[k.key], code, k.better) for k in KPIS}
    return KpiReport(code, language, week, has_data, own, benchmarks)


WeekValues = dict[str, dict[str, float | None]]  # KPI key -> team code -> value


def week_values(fetch: Fetch, week: int) -> WeekValues:
    """Every team's value of every KPI in a week; a team without data in the week is absent."""
    by_kpi: WeekValues = {k.key: {} for k in KPIS}
    for code, kpi, value in fetch(_WEEK, {"week": week}):
        if kpi in by_kpi:
            by_kpi[kpi][code] = value
    return by_kpi


_HISTORY = """
SELECT t.code, k.week, k.value FROM kpi_values k JOIN teams t ON t.id = k.team_id
WHERE k.kpi = :kpi AND k.week BETWEEN :first AND :last
"""


@dataclass(frozen=True)
class KpiHistory:
    """One KPI of every team over a range of weeks. A team-week without a row has no data
    (no hours or visits); a row whose value is None has data but no value (a zero divisor)."""

    kpi: str
    first_week: int
    last_week: int
    values: dict[str, dict[int, float | None]]  # team code -> week -> value
    _sorted: dict[int, list[float]] = field(default_factory=dict, compare=False, repr=False)

    def of_week(self, week: int) -> dict[str, float | None]:
        return {team: by_week[week] for team, by_week in self.values.items() if week in by_week}

    def sorted_week(self, week: int) -> list[float]:
        """Every team's value in the week, sorted, nulls left out; kept, as histories are
        shared between requests (callers must not change it)."""
        found = self._sorted.get(week)
        if found is None:
            found = self._sorted[week] = sorted(v for v in self.of_week(week).values()
                                                if v is not None)
        return found


def kpi_history(fetch: Fetch, kpi: str, first_week: int, last_week: int) -> KpiHistory:
    values: dict[str, dict[int, float | None]] = {}
    for code, week, value in fetch(_HISTORY, {"kpi": kpi, "first": first_week, "last": last_week}):
        values.setdefault(code, {})[week] = value
    return KpiHistory(kpi, first_week, last_week, values)


def team_codes(fetch: Fetch) -> list[str]:
    return [code for (code,) in fetch(_CODES, {})]


_NAMES = "SELECT code, name FROM teams ORDER BY code"
_DATA_WEEKS = ("SELECT MIN(k.week), MAX(k.week) FROM kpi_values k JOIN teams t ON t.id = k.team_id"
               " WHERE t.code = :code")
_ALL_DATA_WEEKS = "SELECT MIN(week), MAX(week) FROM kpi_values"


def team_names(fetch: Fetch) -> list[tuple[str, str]]:
    """Every team's (code, name), by code."""
    return [(code, name) for code, name in fetch(_NAMES, {})]


def data_weeks(fetch: Fetch, team_code: str | None = None) -> tuple[int, int] | None:
    """The first and last week with KPI values (of a team, or of any), or None."""
    found = fetch(_DATA_WEEKS, {"code": team_code}) if team_code else fetch(_ALL_DATA_WEEKS, {})
    first, last = found[0] if found else (None, None)
    return None if first is None else (int(first), int(last))
