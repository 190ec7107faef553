"""The KPIs of the data contract (section 3): their definitions and how they are computed from
the per-team, per-week sums that the database delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

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

# The sums per team and week that the KPIs are made of.
COMPONENTS = ("worked", "temp", "sick", "contracted", "client_minutes", "clients",
              "continuity_carers", "continuity_citizens", "sick_episodes")


def compute(components: pd.DataFrame) -> pd.DataFrame:
    """KPI values from components.

    ``components`` has columns team_id, week and every name in ``COMPONENTS`` (missing sums are
    0). The result is long: team_id, week, kpi, value (NaN where the contract says null),
    numerator and denominator (for ratio KPIs).
    """
    c = components
    client_hours = c["client_minutes"] / 60.0
    paid = c["worked"] + c["temp"]
    parts = {
        "productivity": (client_hours, paid),
        "sick_leave": (c["sick"], c["contracted"]),
        "temp_share": (c["temp"], paid),
        "clients": (c["clients"], None),
        "hours_per_client": (client_hours, c["clients"]),
        "continuity": (c["continuity_carers"], c["continuity_citizens"]),
        "sick_episodes": (c["sick_episodes"], None),
    }
    frames = []
    for key, (numerator, denominator) in parts.items():
        if denominator is None:
            value = numerator.astype(float)
            num = den = pd.Series(np.nan, index=c.index)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = (numerator / denominator).where(denominator != 0)
            num, den = numerator.astype(float), denominator.astype(float)
        frames.append(pd.DataFrame({
            "team_id": c["team_id"], "week": c["week"], "kpi": key,
            "value": value, "numerator": num, "denominator": den,
        }))
    return pd.concat(frames, ignore_index=True)
