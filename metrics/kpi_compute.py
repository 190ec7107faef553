"""Compute KPI values from the per-team, per-week sums that the database delivers
(the formulas of the data contract, section 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
