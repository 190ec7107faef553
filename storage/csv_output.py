"""Every CSV file teampuls writes (forecasts, drift alerts, the demo's exports) goes through
``write_csv``, so that a spreadsheet that opens it cannot take a cell for a formula (CSV or
formula injection): a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a single quote in front, as OWASP advises. The file stays machine-readable: numbers
are written as numbers (``-3.5`` stays ``-3.5``, whether a number or a text that is one), and a
reader gets a neutralized text back by dropping the one leading ``'``.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def neutralize_text(value):
    """``value`` with a ``'`` in front if it is a text a spreadsheet could take for a formula;
    anything else (numbers, None, texts that are plain numbers) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralized; numeric columns are left alone.
    Text columns are searched for risky first characters at C speed; only those cells are
    looked at in Python."""
    out = frame.copy(deep=False)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        if isinstance(column.dtype, pd.StringDtype):
            risky = column.str.slice(0, 1).isin(FORMULA_STARTS).to_numpy(dtype=bool)
        else:  # object columns may hold anything
            risky = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_STARTS)
                                 for v in column), dtype=bool, count=len(column))
        if not risky.any():
            continue
        values = column.to_numpy(dtype=object, copy=True)
        at = np.flatnonzero(risky)
        values[at] = [neutralize_text(v) for v in values[at]]
        out[name] = pd.Series(values, index=column.index, dtype=object)
    return out


def write_csv(frame: pd.DataFrame, path: pathlib.Path | str, **options) -> None:
    """Write ``frame`` as CSV (``DataFrame.to_csv`` options, without its index), every text
    cell neutralized."""
    neutralize(frame).to_csv(path, index=False, **options)
