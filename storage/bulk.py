"""Fast bulk inserts: ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL.

The rows come as a pandas DataFrame whose columns are named as the table's; dates are given as
ISO text, which both databases take for a DATE column.
"""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Connection


def insert_frame(connection: Connection, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    columns = list(frame.columns)
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        frame.to_csv(buffer, header=False, index=False, na_rep="")
        names = ", ".join(columns)
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        return
    placeholders = ", ".join("?" for _ in columns)
    rows = list(zip(*(_column_values(frame[c]) for c in columns)))
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def _column_values(column: pd.Series) -> list:
    """Plain Python values of a column, with None for missing ones."""
    values = column.tolist()
    if column.hasnans:
        return [None if v is None or v != v else v for v in values]
    return values
