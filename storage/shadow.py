"""Shadow tables: how a large import into empty tables keeps SQLite's write lock for seconds,
not for the whole load.

A first load of visits or hours (the table is empty when the import begins) is written into a
shadow table in the same database file (``visits__import``), chunk by chunk, each chunk in a
short transaction of its own, so that the bot's writes (goals, follow-ups) take turns with it.
The shadow has the table's indexes from the start. The import's final
transaction then swaps it in (drop the empty table, rename the shadow) together with
everything else the import writes (teams, staff, norms, later files, KPI values), so the
import stays all-or-nothing: until that commit, readers see the tables as they were, and a
failure at any point drops the shadows and leaves the database as it was.

Imports take turns through a lock file beside the database (``<file>-import.lock``, an
advisory ``flock``, released by the system when the process ends); whoever holds it may drop
shadows and put back indexes that a killed import left behind.
"""

from __future__ import annotations

import fcntl
import re
import time

import pandas as pd
from sqlalchemy import Connection, Engine

from storage.bulk import sqlite_insert
from storage.database import begin_immediate, let_waiters_in
from storage.models import Base

SUFFIX = "__import"
TABLES = ("visits", "hours")
BATCH_ROWS = 25_000  # at most, in one transaction
MIN_BATCH_ROWS = 2_000
BATCH_SECONDS = 0.25  # the lock time a batch aims at


def shadow_of(table: str) -> str:
    return table + SUFFIX


def supported(engine: Engine) -> bool:
    """Shadow tables need a database file that several connections share."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:" \
        and not database.startswith("file:")


class ShadowTables:
    """The import's own connection for shadow tables, and the import lock."""

    def __init__(self, engine: Engine):
        self._lock = open(f"{engine.url.database}-import.lock", "a+b")  # noqa: SIM115
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)  # another import: wait for it
            self._proxy = engine.raw_connection()
        except BaseException:
            self._lock.close()
            raise
        self.db = self._proxy.driver_connection
        self.database = engine.url.database
        # Rows may name teams that the final transaction creates (see Writer.team_ids).
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.tables: list[str] = []
        self._batch_rows = BATCH_ROWS
        self.cleanup(TABLES)  # what a killed import left behind

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    def _write(self, *statements: str, rows: tuple[str, pd.DataFrame] | None = None) -> None:
        """One short write transaction (waiting for the lock up to the busy timeout)."""
        begin_immediate(self.db, self.database)
        try:
            for statement in statements:
                self.db.execute(statement)
            if rows is not None:
                sqlite_insert(self.db, *rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        let_waiters_in(self.database)  # the bot's writes go between the import's batches

    def create(self, table: str) -> None:
        """An empty shadow of ``table``: its columns, constraints and indexes, by their names
        (the empty table loses them: the final transaction drops it, ``cleanup`` puts them
        back). Indexes kept up while loading cost about as much as building them at the end,
        and building one at the end would hold the lock for seconds."""
        (sql,), = self.read("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                            (table,))
        shadow, count = re.subn(rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE {shadow_of(table)}",
                                sql)
        if count != 1:
            raise RuntimeError(f"unexpected definition of table {table}")
        statements = [shadow]
        for index in sorted(Base.metadata.tables[table].indexes, key=lambda i: i.name):
            columns = ", ".join(column.name for column in index.columns)
            unique = "UNIQUE " if index.unique else ""
            statements += [f"DROP INDEX IF EXISTS {index.name}",
                           f"CREATE {unique}INDEX {index.name} ON {shadow_of(table)} ({columns})"]
        self._write(*statements)
        self.tables.append(table)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        """Rows of ``table`` into its shadow, in transactions of their own of at most
        ``BATCH_ROWS`` rows each and as many as take about ``BATCH_SECONDS``, so that each
        holds the lock for a fraction of a second; between them, writers that wait go first."""
        start = 0
        while start < len(frame):
            began = time.perf_counter()
            batch = frame.iloc[start:start + self._batch_rows]
            self._write(rows=(shadow_of(table), batch))
            start += len(batch)
            # The next batch's size aims at BATCH_SECONDS of lock (a loaded machine is slower).
            seconds = max(time.perf_counter() - began, 1e-3)
            self._batch_rows = int(min(BATCH_ROWS, max(
                MIN_BATCH_ROWS, len(batch) * BATCH_SECONDS / seconds, self._batch_rows / 2)))

    def swap(self, connection: Connection) -> None:
        """In the import's final transaction: each shadow becomes its table."""
        for table in self.tables:
            if connection.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
                raise RuntimeError(f"the {table} table was written while the import ran")
            connection.exec_driver_sql(f"DROP TABLE {table}")
            connection.exec_driver_sql(f"ALTER TABLE {shadow_of(table)} RENAME TO {table}")

    def cleanup(self, tables=None) -> None:
        """After a failed import (its final transaction rolled back): drop the shadows and give
        the tables their indexes back."""
        tables = self.tables if tables is None else tables
        existing = {name for (name,) in self.read(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")}
        statements = [f"DROP TABLE IF EXISTS {shadow_of(t)}" for t in tables
                      if shadow_of(t) in existing]
        for table in tables:
            for index in Base.metadata.tables[table].indexes:
                columns = ", ".join(column.name for column in index.columns)
                unique = "UNIQUE " if index.unique else ""
                statements.append(
                    f"CREATE {unique}INDEX IF NOT EXISTS {index.name} ON {table} ({columns})")
        self._write(*statements)
        self.tables = []

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA foreign_keys=ON")
            self._proxy.close()
        finally:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()

