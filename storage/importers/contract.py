"""Section 1 of the data contract as data: the four kinds of file, their columns and aliases,
and the aliases of enumerated values. Everything is matched case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# A team code: letters (Danish and Norwegian ones too), digits, "-", "_" and ".".
TEAM_CODE = re.compile(r"^[A-Za-z0-9ÆØÅæøåÄÖÜäöü][A-Za-z0-9ÆØÅæøåÄÖÜäöü_.\-]{0,63}$")

ColumnType = Literal["text", "team", "citizen", "date", "number", "integer", "enum"]


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    type: ColumnType
    required: bool = True
    enum: str | None = None  # the enumeration of an enum column
    minimum: float | None = None
    minimum_exclusive: bool = False
    maximum: float | None = None


def _names(*names: str) -> tuple[str, ...]:
    return names


EMPLOYEE = _names("medarbejder", "medarbejder_id", "ansatt", "ansatt_id")
TEAM = _names("hold")
PROFESSION = _names("faggruppe", "yrkesgruppe")

KINDS: dict[str, tuple[Column, ...]] = {
    "staff": (
        Column("employee_id", EMPLOYEE, "text"),
        Column("team", TEAM, "team"),
        Column("profession", PROFESSION, "enum", enum="profession"),
        Column("contracted_hours", _names("normtid", "timer_pr_uge", "stillingstimer"), "number",
               minimum=0, minimum_exclusive=True, maximum=48),
        Column("start_date", _names("startdato", "fra"), "date"),
        Column("end_date", _names("slutdato", "til"), "date", required=False),
    ),
    "hours": (
        # employee_id is required unless kind = temp; checked with the row.
        Column("employee_id", EMPLOYEE, "text", required=False),
        Column("team", TEAM, "team"),
        Column("date", _names("dato"), "date"),
        Column("kind", _names("type", "art"), "enum", enum="kind"),
        Column("hours", _names("timer"), "number", minimum=0, maximum=24),
        Column("profession", PROFESSION, "enum", required=False, enum="profession"),
    ),
    "visits": (
        Column("visit_id", _names("besøg_id", "besoeg_id", "besøk_id", "besok_id"), "text"),
        Column("team", TEAM, "team"),
        Column("citizen_ref", _names("borger", "borger_ref", "bruker", "bruker_ref"), "citizen"),
        Column("employee_id", EMPLOYEE, "text"),
        Column("date", _names("dato"), "date"),
        Column("minutes", _names("minutter", "varighed", "varighet"), "integer",
               minimum=0, minimum_exclusive=True, maximum=1440),
        Column("status", _names("status"), "enum", enum="status"),
    ),
    "norms": (
        Column("team", TEAM, "team"),
        Column("profession", PROFESSION, "enum", enum="profession"),
        Column("valid_from", _names("gyldig_fra", "fra"), "date"),
        Column("hours_per_week", _names("timer_pr_uge", "normering"), "number", minimum=0),
    ),
}

ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "kind": {
        "worked": ("arbejde", "arbejdstid", "arbeid", "arbeidstid"),
        "sick": ("syg", "sygdom", "egen sygdom", "syk", "sykdom", "egenmelding", "sykmelding"),
        "child_sick": ("barn syg", "barns sygdom", "sykt barn", "barn syk"),
        "vacation": ("ferie",),
        "course": ("kursus", "uddannelse", "kurs", "opplæring"),
        "other_absence": ("andet fravær", "fravær", "annet fravær", "permisjon"),
        "temp": ("vikar", "innleie"),
    },
    "profession": {
        "nurse": ("sygeplejerske", "spl", "sykepleier"),
        "sosu_assistant": ("social- og sundhedsassistent", "ssa", "helsefagarbeider",
                           "hjelpepleier"),
        "sosu_helper": ("social- og sundhedshjælper", "ssh", "hjemmehjælper", "assistent",
                        "ufaglært", "hjemmehjelp"),
        "physio": ("fysioterapeut",),
        "ot": ("ergoterapeut",),
        "pedagogue": ("pædagog", "vernepleier"),
        "case_officer": ("visitator", "saksbehandler"),
        "other": ("andet", "annet"),
    },
    "status": {
        "delivered": ("leveret", "levert"),
        "cancelled": ("aflyst", "avlyst"),
    },
}

PROFESSIONS = tuple(ENUMS["profession"])
HOUR_KINDS = tuple(ENUMS["kind"])


def enum_lookup(enum: str) -> dict[str, str]:
    """Every accepted spelling (lower case) of an enumeration, mapped to its canonical value."""
    lookup: dict[str, str] = {}
    for canonical, aliases in ENUMS[enum].items():
        lookup[canonical] = canonical
        for alias in aliases:
            lookup[alias] = canonical
    return lookup


def header_lookup(kind: str) -> dict[str, Column]:
    """Every accepted header name (lower case) of a kind, mapped to its column."""
    lookup: dict[str, Column] = {}
    for column in KINDS[kind]:
        for name in (column.name, *column.aliases):
            lookup[name.casefold()] = column
    return lookup


def normalize_header(name: str) -> str:
    return name.strip().casefold()


def recognise_kind(header: list[str]) -> str | None:
    """The one kind whose required columns all appear in ``header``, if exactly one does."""
    names = {normalize_header(h) for h in header}
    matches = []
    for kind in KINDS:
        lookup = header_lookup(kind)
        found = {lookup[n].name for n in names if n in lookup}
        if all(c.name in found for c in KINDS[kind] if c.required or c.name == "employee_id"):
            matches.append(kind)
    return matches[0] if len(matches) == 1 else None
