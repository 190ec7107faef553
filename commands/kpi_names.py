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


# What people type for each KPI, in Danish, Norwegian and English (matched without case, and
# with æ/ø/å also accepted as ae/oe/aa).
SYNONYMS = {
    "productivity": ("productivity", "produktivitet", "brugertid", "brukertid", "client time",
                     "direct time", "borgertid", "effektivitet"),
    "sick_leave": ("sick leave", "sick", "sickness", "sygefravær", "sykefravær", "fravær",
                   "syg", "syk", "sygdom", "sykdom"),
    "temp_share": ("temp share", "temps", "temp", "temporary", "vikarer", "vikar", "vikarandel",
                   "vikarbrug", "vikarbruk", "vikartimer"),
    "clients": ("citizens", "clients", "borgere", "borger", "brugere", "brukere", "pasienter",
                "brukarar"),
    "hours_per_client": ("hours per citizen", "hours per client", "timer pr borger",
                         "timer per borger", "timer pr bruker", "timer per bruker",
                         "tid pr borger", "tid per borger"),
    "continuity": ("continuity", "kontinuitet", "carers", "carers per citizen", "hjælpere",
                   "hjelpere", "medarbejdere pr borger", "ansatte per bruker"),
    "sick_episodes": ("sick episodes", "episodes", "sygemeldinger", "sykemeldinger",
                      "sygdomsforløb", "sykefraværstilfeller", "nye sygemeldinger",
                      "nye sykemeldinger"),
}


def normal(text: str) -> str:
    """A name as it is compared: lower case, ASCII for æøå, single spaces, no dots or dashes."""
    text = text.casefold().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    for mark in ".-_,":
        text = text.replace(mark, " ")
    return " ".join(text.split())


def plain(text: str) -> str:
    """A name without accents, as typed on a keyboard without æøå: "sygefravar", "lordag"."""
    import unicodedata

    text = normal(text.casefold().replace("æ", "a").replace("ø", "o").replace("å", "a"))
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def folds(text: str) -> set[str]:
    """The forms a name is matched in: with æøå as ae/oe/aa, and with them as a/o/a."""
    return {normal(text), plain(text)}


def _names() -> dict[str, str]:
    names = {normal(name): key for key, words in SYNONYMS.items() for name in (key, *words)}
    plain_forms: dict[str, set[str]] = {}
    for key, words in SYNONYMS.items():
        for name in (key, *words):
            plain_forms.setdefault(plain(name), set()).add(key)
    for form, keys in plain_forms.items():
        if len(keys) == 1 and form not in names:  # an ambiguous plain form names no KPI
            names[form] = keys.pop()
    return names


NAMES: dict[str, str] = _names()
LONGEST_NAME = max(len(name.split()) for name in NAMES)


def kpi_key(text: str) -> str | None:
    """The KPI a name stands for, or None."""
    return NAMES.get(normal(text)) or NAMES.get(plain(text))


def closest_kpi(text: str) -> str | None:
    """The KPI whose name is closest to a misspelled one ("did you mean"), or None."""
    import difflib

    match = difflib.get_close_matches(normal(text), list(NAMES), n=1, cutoff=0.75)
    return NAMES[match[0]] if match else None
