"""Read queries over the stored KPI values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics.benchmark import Benchmark, benchmark
from metrics.kpis import KPIS
from storage.models import KpiValue, Team
from storage.teams import get_team


@dataclass(frozen=True)
class KpiReport:
    team: str
    language: str | None  # the team's own; None: the default of the settings
    week: int
    has_data: bool
    values: dict[str, float | None]
    benchmarks: dict[str, Benchmark]


def kpi_report(session: Session, team_code: str, week: int) -> KpiReport:
    """The team's KPIs in a week and their benchmark against every other team."""
    team = get_team(session, team_code)
    rows = session.execute(
        select(KpiValue.team_id, KpiValue.kpi, KpiValue.value).where(KpiValue.week == week)).all()
    by_kpi: dict[str, dict[int, float | None]] = {k.key: {} for k in KPIS}
    for team_id, kpi, value in rows:
        if kpi in by_kpi:
            by_kpi[kpi][team_id] = value
    values = {k.key: by_kpi[k.key].get(team.id) for k in KPIS}
    has_data = any(team.id in by_kpi[k.key] for k in KPIS)
    benchmarks = {k.key: benchmark(by_kpi[k.key], team.id, k.better) for k in KPIS}
    return KpiReport(team.code, team.language, week, has_data, values, benchmarks)

