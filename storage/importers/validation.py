"""Turn chunks of text rows into typed columns by the rules of the contract, and say exactly
which file, line and column break a rule.

The work is vectorised with pandas: a chunk of 100,000 rows is checked column by column, and
Python only loops over the rows that are wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from storage.importers.contract import (
    KINDS,
    TEAM_CODE,
    Column,
    enum_lookup,
    header_lookup,
    normalize_header,
)
from storage.national_ids import national_id_mask

DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y")
_DATE_SHAPES = (
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"),
    re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"),
    re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"),
    re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"),
)
MAX_TEXT = 64
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal(), day 0 of numpy dates


@dataclass(frozen=True, order=True)
class RowError:
    line: int
    column: str
    message: str

    def describe(self, file: str) -> str:
        where = f"{file}, line {self.line}" if self.line else file
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass
class Layout:
    """Where each contract column stands in the file's header."""

    kind: str
    positions: dict[str, int]
    labels: dict[str, str]  # column name -> the header text the file uses


def resolve_header(kind: str, header: list[str]) -> tuple[Layout | None, list[RowError]]:
    lookup = header_lookup(kind)
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    errors: list[RowError] = []
    for index, name in enumerate(header):
        column = lookup.get(normalize_header(name))
        if column is None:
            continue  # unknown extra columns are ignored
        if column.name in positions:
            errors.append(RowError(1, name.strip(), f"the header names {column.name} twice "
                                   f"(also as {labels[column.name]!r})"))
            continue
        positions[column.name] = index
        labels[column.name] = name.strip()
    for column in KINDS[kind]:
        if column.name not in positions and (column.required or column.name == "employee_id"):
            aliases = ", ".join((column.name, *column.aliases))
            errors.append(RowError(1, "", f"the required column {column.name} is missing "
                                   f"(accepted names: {aliases})"))
    return (None if errors else Layout(kind, positions, labels)), errors


class ChunkChecker:
    """Checks and converts the chunks of one file, one at a time."""

    def __init__(self, layout: Layout, decimal_comma: bool):
        self.layout = layout
        self.decimal_comma = decimal_comma
        self._enums = {c.enum: enum_lookup(c.enum) for c in KINDS[layout.kind] if c.enum}

    def check(self, line: np.ndarray,
              columns: list[pd.Series]) -> tuple[pd.DataFrame, list[RowError]]:
        errors: list[RowError] = []
        stripped = {position: columns[position].str.strip()
                    for position in self.layout.positions.values()}
        # Rows whose fields are all empty or white space count as blank lines.
        blank = np.logical_and.reduce([(c == "").to_numpy() for c in stripped.values()])
        if blank.any():
            keep = ~blank
            line = line[keep]
            stripped = {p: c[keep].reset_index(drop=True) for p, c in stripped.items()}
        frame = {"line": line}
        bad = np.zeros(len(line), dtype=bool)
        for column in KINDS[self.layout.kind]:
            position = self.layout.positions.get(column.name)
            # An optional column the file does not have is read as a column of empty cells,
            # so that it means exactly what empty cells mean (no end date: 0).
            raw = stripped[position] if position is not None else \
                pd.Series([""] * len(line), dtype=object)
            values, invalid = self._convert(column, raw, line, errors)
            frame[column.name] = values
            bad |= invalid
        data = pd.DataFrame(frame)
        bad |= self._row_rules(data, errors)
        return data[~bad].reset_index(drop=True), errors

    # -- columns ------------------------------------------------------------------------------

    def _convert(self, column: Column, raw: pd.Series, line: np.ndarray,
                 errors: list[RowError]) -> tuple[pd.Series, np.ndarray]:
        """Convert a column, and refuse every value in it that looks like a CPR number or
        fødselsnummer (contract section 4), in any column of any kind. Such a value gets that
        error alone: no other message of the column shows it."""
        first = len(errors)
        values, invalid = self._convert_column(column, raw, line, errors)
        if column.type in ("text", "team", "citizen"):
            national = national_id_mask(raw)
        else:
            # A valid date or enum value never looks like one, nor does a number below 1e8
            # (a CPR number is at least 0101000000): look at the rest only.
            suspects = invalid.copy()
            if column.type in ("number", "integer"):
                with np.errstate(invalid="ignore"):
                    suspects |= np.abs(values.to_numpy(dtype="float64")) >= 1e8
            national = national_id_mask(raw, suspects) if suspects.any() else suspects
        if national.any():
            refused = set(line[national].tolist())
            errors[first:] = [e for e in errors[first:] if e.line not in refused]
            label = self.layout.labels.get(column.name, column.name)
            hint = ("use the municipality's pseudonymous reference (e.g. B-10442)"
                    if column.type == "citizen" else "those are never imported")
            for i in np.flatnonzero(national):
                errors.append(RowError(int(line[i]), label,
                                       f"looks like a CPR number or fødselsnummer; {hint}"))
            invalid = invalid | national
        return values, invalid

    def _convert_column(self, column: Column, raw: pd.Series, line: np.ndarray,
                        errors: list[RowError]) -> tuple[pd.Series, np.ndarray]:
        label = self.layout.labels.get(column.name, column.name)
        empty = (raw == "").to_numpy()
        invalid = np.zeros(len(raw), dtype=bool)
        if column.required:
            for i in np.flatnonzero(empty):
                errors.append(RowError(int(line[i]), label, "a value is required"))
            invalid |= empty
        present = ~empty

        if column.type in ("text", "team", "citizen"):
            too_long = present & (raw.str.len() > MAX_TEXT).to_numpy()
            for i in np.flatnonzero(too_long):
                errors.append(RowError(int(line[i]), label,
                                       f"{raw.iat[i][:20]!r}... is longer than {MAX_TEXT} characters"))
            invalid |= too_long
            if column.type == "team":
                codes, distinct = _distinct(raw)
                wrong = present & ~too_long & ~distinct.str.match(TEAM_CODE).to_numpy(dtype=bool)[codes]
                for i in np.flatnonzero(wrong):
                    errors.append(RowError(int(line[i]), label, f"{raw.iat[i]!r} is not a team code "
                                           "(letters, digits, '-', '_' and '.')"))
                invalid |= wrong
            return raw.where(present, None), invalid

        if column.type == "enum":
            codes, distinct = _distinct(raw)
            mapped = pd.Series(distinct.str.casefold().map(self._enums[column.enum])
                               .to_numpy(dtype=object)[codes])
            wrong = present & mapped.isna().to_numpy()
            if wrong.any():
                accepted = ", ".join(dict.fromkeys(self._enums[column.enum].values()))
                for i in np.flatnonzero(wrong):
                    errors.append(RowError(int(line[i]), label,
                                           f"{raw.iat[i]!r} is not a known {column.enum} "
                                           f"(accepted: {accepted}, or their Danish and "
                                           "Norwegian names)"))
            invalid |= wrong
            return mapped.where(present & ~wrong, None), invalid

        if column.type == "date":
            codes, distinct = _distinct(raw)
            distinct_ordinals, _ = parse_dates(distinct, (distinct != "").to_numpy())
            ordinals = distinct_ordinals[codes]
            wrong = present & (ordinals == 0)
            for i in np.flatnonzero(wrong):
                errors.append(RowError(int(line[i]), label,
                                       f"{raw.iat[i]!r} is not a date (write YYYY-MM-DD, "
                                       "DD-MM-YYYY, DD.MM.YYYY or DD/MM/YYYY)"))
            invalid |= wrong
            return pd.Series(ordinals), invalid

        # number or integer
        codes, distinct = _distinct(raw)
        text = distinct.str.replace(",", ".", regex=False) if self.decimal_comma else distinct
        numbers = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        values = numbers.to_numpy()[codes]
        finite = np.isfinite(values)
        wrong = present & ~finite
        for i in np.flatnonzero(wrong):
            errors.append(RowError(int(line[i]), label, f"{raw.iat[i]!r} is not a number"))
        checked = present & finite
        if column.type == "integer":
            fractional = checked & (np.floor(values) != values)
            for i in np.flatnonzero(fractional):
                errors.append(RowError(int(line[i]), label, f"{raw.iat[i]!r} is not a whole number"))
            wrong |= fractional
            checked &= ~fractional
        with np.errstate(invalid="ignore"):
            low = np.zeros(len(values), dtype=bool)
            if column.minimum is not None:
                low = values <= column.minimum if column.minimum_exclusive else values < column.minimum
            high = values > column.maximum if column.maximum is not None else np.zeros_like(low)
        out_of_range = checked & (low | high)
        for i in np.flatnonzero(out_of_range):
            errors.append(RowError(int(line[i]), label,
                                   f"{raw.iat[i]!r} is out of range ({_range_text(column)})"))
        invalid |= wrong | out_of_range
        return pd.Series(values), invalid

    # -- rules across columns -----------------------------------------------------------------

    def _row_rules(self, data: pd.DataFrame, errors: list[RowError]) -> np.ndarray:
        bad = np.zeros(len(data), dtype=bool)
        kind = self.layout.kind
        labels = self.layout.labels
        if kind == "staff":
            before = ((data["end_date"] > 0) & (data["end_date"] < data["start_date"])).to_numpy()
            for i in np.flatnonzero(before):
                errors.append(RowError(int(data["line"].iat[i]), labels["end_date"],
                                       "the end date is before the start date"))
            bad |= before
        if kind == "hours":
            missing = (data["employee_id"].isna() & data["kind"].notna()
                       & (data["kind"] != "temp")).to_numpy()
            for i in np.flatnonzero(missing):
                errors.append(RowError(int(data["line"].iat[i]), labels["employee_id"],
                                       "a value is required unless the kind is temp"))
            bad |= missing
        return bad


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values of a column. Exports repeat their dates, team codes, statuses
    and small numbers, so checks and conversions run once per distinct value and are spread
    back with ``result[codes]``."""
    codes, distinct = pd.factorize(raw, use_na_sentinel=False)
    return codes, pd.Series(distinct, dtype=raw.dtype)


def _range_text(column: Column) -> str:
    low = ""
    if column.minimum is not None:
        low = f"{'above' if column.minimum_exclusive else 'at least'} {column.minimum:g}"
    high = f"at most {column.maximum:g}" if column.maximum is not None else ""
    return " and ".join(p for p in (low, high) if p)


def parse_dates(raw: pd.Series, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Date ordinals (``date.toordinal()``) of the accepted formats; 0 where absent or wrong."""
    ordinals = np.zeros(len(raw), dtype=np.int64)
    todo = present.copy()
    for shape, fmt in zip(_DATE_SHAPES, DATE_FORMATS):
        if not todo.any():
            break
        subset = raw[todo]
        shaped = subset.str.match(shape).to_numpy(dtype=bool)
        if not shaped.any():
            continue
        parsed = pd.to_datetime(subset[shaped], format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        days = parsed[ok].to_numpy().astype("datetime64[D]").astype(np.int64) + EPOCH_ORDINAL
        index = np.flatnonzero(todo)[np.flatnonzero(shaped)[ok]]
        ordinals[index] = days
        todo[index] = False
    wrong = present & (ordinals == 0)
    return ordinals, wrong
