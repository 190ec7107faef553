"""The KPIs of the data contract (section 3): their definitions and how they are computed from
the per-team, per-week sums that the database delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Better = Literal["higher", "lower", "neither"]


@dataclass(frozen=True)
class Kpi:
    key: str
    better: Better
    percent: bool  # shown to people as a percentage
    norm: tuple[float, float] | None = None  # the norm band, where the contract gives one


KPIS: tuple[Kpi, ...] = (
    Kpi("productivity", "higher", True, norm=(0.60, 0.65)),
    Kpi("sick_leave", "lower", True),
    Kpi("temp_share", "lower", True),
    Kpi("clients", "neither", False),
    Kpi("hours_per_client", "neither", False),
    Kpi("continuity", "lower", False),
    Kpi("sick_episodes", "lower", False),
)
BY_KEY = {k.key: k for k in KPIS}
KEYS = tuple(BY_KEY)
