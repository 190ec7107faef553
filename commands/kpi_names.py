"""The names people use for KPIs, in every language, and how their values are shown."""

from __future__ import annotations

from commands.i18n import N_, Translator
from metrics.kpis import BY_KEY

TITLES = {
    "productivity": N_("Productivity"),
    "sick_leave": N_("Sick leave"),
    "temp_share": N_("Temp share"),
    "clients": N_("Citizens"),
    "hours_per_client": N_("Hours per citizen"),
    "continuity": N_("Carers per citizen (2 weeks)"),
    "sick_episodes": N_("New sick episodes"),
}


def title(key: str, tr: Translator) -> str:
    return tr(TITLES[key])


def show(key: str, value: float | None, tr: Translator) -> str:
    """A KPI value as people read it: percentages for shares, a dash for no value."""
    if value is None:
        return "–"
    if BY_KEY[key].percent:
        return tr.percent(value)
    if key in ("clients", "sick_episodes"):
        return tr.decimal(value, 0)
    return tr.decimal(value, 2 if key == "hours_per_client" else 1)
