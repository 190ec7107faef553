"""Tidy series files of the scripting interface (the data contract, section 5): read and
checked, every bad line named; and the alerts written back.

``drift scan`` reads team, metric, week, value (and, optionally, numerator and denominator);
weeks are ISO week labels (``2026-W47``); an empty value is a week without a value.
"""

from __future__ import annotations

import pathlib

import pandas as pd

from metrics import weeks
from storage.csv_output import write_csv
from storage.error_cap import ErrorCap
from storage.errors import SeriesFileError


def read_series(path: pathlib.Path, columns: tuple[str, ...] = ("team", "metric", "week",
                                                                 "value"),
                known_metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The file's rows with ``week`` as week indexes and ``value`` as floats."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise SeriesFileError(f"{path}: no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise SeriesFileError(f"{path}: not a CSV file this can read ({error})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SeriesFileError(f"{path}: the header lacks {', '.join(missing)} "
                              f"(it needs {', '.join(columns)})")
    errors = ErrorCap()
    week_index: list[int | None] = []
    values: list[float | None] = []
    value_column = columns[-1]
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        record = row._asdict()
        try:
            week_index.append(weeks.parse(record["week"]))
        except weeks.WeekError as error:
            errors.add(f"{path}:{number}: column week: {error}")
            week_index.append(None)
        text = record[value_column].strip().replace(",", ".") if record[value_column] else ""
        try:
            values.append(float(text) if text else None)
        except ValueError:
            errors.add(f"{path}:{number}: column {value_column}: {record[value_column]!r} "
                          "is not a number")
            values.append(None)
        if not record["team"].strip():
            errors.add(f"{path}:{number}: column team: empty")
        if known_metrics is not None and "metric" in record and \
                record["metric"].strip() not in known_metrics:
            errors.add(f"{path}:{number}: column metric: {record['metric']!r} is not one of "
                          f"{', '.join(known_metrics)}")
    keys = [c for c in columns if c != value_column]
    out = frame[list(keys)].apply(lambda c: c.str.strip())
    out["week"] = week_index
    out[value_column] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    duplicated = out.duplicated(subset=keys, keep=False) & out["week"].notna()
    lines = duplicated[duplicated].index + 2
    for number in lines[:errors.limit]:
        errors.add(f"{path}:{number}: the same {', '.join(keys)} as another line")
    errors.count(max(len(lines) - errors.limit, 0))
    if errors:
        raise SeriesFileError(f"{errors.total:,} problem(s) in {path}:\n"
                              + "\n".join(errors.lines()))
    out["week"] = out["week"].astype(int)
    return out


def write_alerts(frame: pd.DataFrame, path: pathlib.Path) -> None:
    write_csv(frame, path, float_format="%.6g")
