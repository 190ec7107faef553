"""Shadow tables: how an import keeps SQLite's write lock for short moments, not for the
whole load, whether the tables are empty or already hold years of rows.

The import builds the complete new visits and hours tables in shadow tables in the same
database file (``visits__import``): when it meets the first file of a kind it creates the
shadow with the table's indexes and copies the rows the table holds, then writes the files'
chunks into the shadow by the contract's replacement rules, all in short transactions of their
own (``BATCH_SECONDS`` of lock each), so that the bot's writes (goals, follow-ups) take turns
with it. The import's final transaction then swaps the shadows in (renames: the old table
becomes ``visits__old``) together with what else it writes (teams, staff, norms, KPI values),
so the import stays all-or-nothing: until that commit readers see the tables as they were, and
a failure at any point leaves the database as it was. The old tables are emptied after the
commit in short transactions (secure delete zeroes their bytes) and then dropped.

Only imports write visits and hours, apart from ``citizen erase``, and both take turns through a
lock file beside the database (``<file>-import.lock``, an advisory ``flock`` that the system
releases when the process ends; ``import_turn``), so a shadow cannot miss a change made while
it was built. What a killed import left behind (a shadow: a full copy of the tables; or, killed
after its commit, the replaced tables) is removed under the lock by ``clear_leftovers``: by the
next import, and by ``citizen erase`` and ``citizen export`` before they read.

The live tables keep their indexes throughout (``/capacity`` and the KPI refresh read visits and
hours by team and week while an import runs). SQLite has one namespace for index names and
cannot rename an index, so each index of visits and hours has two names (``index_names``: its
model's name, and that name with ``ALTERNATE`` appended): the shadow's indexes get the names the
live table does not carry, and the swap hands them to the table; the old table's go with it.
A migration that changes one of these indexes handles both of its names.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import time
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

from storage.database import begin_immediate, let_waiters_in
from storage.models import Base

_log = logging.getLogger(__name__)
SUFFIX = "__import"
OLD = "__old"
TABLES = ("visits", "hours")
KEYS = {"visits": "visit_id", "hours": "id"}  # each table's one-column primary key
BATCH_ROWS = 50_000  # at most, in one transaction
MIN_BATCH_ROWS = 2_000
BATCH_SECONDS = 0.25  # the lock time a batch aims at
ALTERNATE = "_b"  # an index's other name (see the module's docstring)


def shadow_of(table: str) -> str:
    return table + SUFFIX


def index_names(index) -> tuple[str, str]:
    """The two names an index of visits or hours carries on SQLite, its model's name first."""
    return index.name, index.name + ALTERNATE


def model_index_name(name: str) -> str:
    """The model's name of an index of visits or hours, under either of its names."""
    return name.removesuffix(ALTERNATE)


def supported(engine: Engine) -> bool:
    """Shadow tables need a database file that several connections share."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:" \
        and not database.startswith("file:")


@contextlib.contextmanager
def import_turn(engine: Engine) -> Iterator[None]:
    """Hold the import lock of ``engine``'s database file (waiting for a running import), so
    that visits and hours change under nobody's shadow; nothing on other databases."""
    if not supported(engine):
        yield
        return
    with open(f"{engine.url.database}-import.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


class Batches:
    """Sizes of batches that each hold the lock about ``BATCH_SECONDS`` (a loaded machine is
    slower): ``size`` rows now, ``took`` after each."""

    def __init__(self) -> None:
        self.size = BATCH_ROWS // 2

    def took(self, rows: int, seconds: float) -> None:
        target = rows * BATCH_SECONDS / max(seconds, 1e-3)
        self.size = int(min(BATCH_ROWS, max(MIN_BATCH_ROWS, target, self.size / 2)))


class _Connection:
    """A connection of its own for writing in short transactions, each followed by a turn for
    every writer that waits; what an import and ``clear_leftovers`` share."""

    def __init__(self, engine: Engine):
        self.database = engine.url.database
        self.connection = engine.connect()
        self.db = self.connection.connection.driver_connection
        # Rows may name teams that the final transaction creates (see Writer.team_ids).
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.tables: list[str] = []
        self.batches = Batches()

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One short write transaction on the import's connection (BEGIN IMMEDIATE, waiting
        for the lock); after it, every writer that waits has its turn."""
        with self.connection.begin():
            yield self.connection
        let_waiters_in(self.database)

    def _write(self, *statements: str) -> None:
        with self.transaction() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def _purge(self, name: str, key: str) -> None:
        """Empty the table ``name`` in short transactions (secure delete zeroes what each
        deletes), then drop it."""
        while True:
            began = time.perf_counter()
            with self.transaction() as connection:
                deleted = connection.exec_driver_sql(
                    f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM {name} "
                    f"LIMIT {self.batches.size})").rowcount
            self.batches.took(deleted, time.perf_counter() - began)
            if deleted <= 0:
                break
        self._write(f"DROP TABLE {name}")

    def _existing(self) -> set[str]:
        return {name for (name,) in self.read(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")}

    def cleanup(self, tables=None) -> None:
        """After a failed import (its final transaction rolled back), or what a killed one left:
        the shadows and old tables go, and the tables get their indexes back."""
        tables = list(self.tables if tables is None else tables)
        existing = self._existing()
        for table in tables:
            for name in (shadow_of(table), f"{table}{OLD}"):
                if name in existing:
                    self._purge(name, KEYS[table])
        statements = []  # an index dropped by an older version that was killed: built again
        for table in tables:
            carried = self._index_names(table)
            statements += [_create_index(index, table, index.name)
                           for index in Base.metadata.tables[table].indexes
                           if not carried & set(index_names(index))]
        if statements:
            self._write(*statements)
        self.tables = []

    def _index_names(self, table: str) -> set[str]:
        return {name for (name,) in self.read(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?", (table,))}

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA foreign_keys=ON")
            for (name,) in self.read("SELECT name FROM sqlite_temp_schema WHERE type = 'table'"):
                self.db.execute(f"DROP TABLE temp.{name}")  # staged rows leave with the import
        finally:
            self.connection.close()


def clear_leftovers(engine: Engine) -> None:
    """What a killed or failed import left behind goes: its shadow tables (a full copy of visits
    and hours, before its swap) and the replaced tables (after it), emptied in short
    transactions (secure delete zeroes their bytes) and dropped; the tables get their indexes
    back. Call it holding the import lock (``import_turn``): ``citizen erase`` and ``citizen
    export`` do before they read, so that no copy of a citizen's rows escapes them."""
    if not supported(engine):
        return
    leftovers = _Connection(engine)
    try:
        leftovers.cleanup(TABLES)
    finally:
        leftovers.close()


class ShadowTables(_Connection):
    """The import's own connection for shadow tables, and the import lock."""

    def __init__(self, engine: Engine):
        self._turn = import_turn(engine)
        self._turn.__enter__()  # another import, or an erase: wait for it
        try:
            super().__init__(engine)
        except BaseException:
            self._turn.__exit__(None, None, None)
            raise
        try:
            self.cleanup(TABLES)  # what a killed import left behind
        except BaseException:
            self.close()
            raise

    def create(self, table: str) -> None:
        """The shadow of ``table``: its columns, constraints and indexes (under the names the
        table does not carry), and a copy of its rows, in short transactions."""
        (sql,), = self.read("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                            (table,))
        shadow, count = re.subn(rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE {shadow_of(table)}",
                                sql)
        if count != 1:
            raise RuntimeError(f"unexpected definition of table {table}")
        self.tables.append(table)  # from here on, cleanup knows it
        carried = self._index_names(table)
        indexes = sorted(Base.metadata.tables[table].indexes, key=lambda i: i.name)
        self._write(shadow, *(_create_index(index, shadow_of(table), _other_name(index, carried))
                              for index in indexes))
        self._copy(table)

    def _copy(self, table: str) -> None:
        key = KEYS[table]
        last = None
        while True:
            began = time.perf_counter()
            with self.transaction() as connection:
                where = "" if last is None else f"WHERE {key} > ?"
                cursor = connection.exec_driver_sql(
                    f"INSERT INTO {shadow_of(table)} SELECT * FROM {table} {where} "
                    f"ORDER BY {key} LIMIT {self.batches.size}", () if last is None else (last,))
                copied = cursor.rowcount
                if copied:
                    last = connection.exec_driver_sql(
                        f"SELECT MAX({key}) FROM {shadow_of(table)}").scalar()
            self.batches.took(copied, time.perf_counter() - began)
            if copied <= 0:
                return

    def swap(self, connection: Connection) -> None:
        """In the import's final transaction: each table becomes ``<table>__old`` and its
        shadow the table (renames only: a moment of lock whatever the size)."""
        for table in self.tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {table}{OLD}")
            connection.exec_driver_sql(f"ALTER TABLE {shadow_of(table)} RENAME TO {table}")
        # self.tables stays: if the final transaction rolls back, cleanup drops the shadows

    def purge(self) -> None:
        """After the import's commit: the old tables go. The import has succeeded whatever
        happens here: what is left is purged by whoever takes the import lock next."""
        self.tables = []
        try:
            existing = self._existing()
            for table in TABLES:
                if f"{table}{OLD}" in existing:
                    self._purge(f"{table}{OLD}", KEYS[table])
        except Exception as error:  # noqa: BLE001 - logged; the next import purges
            _log.warning("the replaced tables are purged later: %s", type(error).__name__)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._turn.__exit__(None, None, None)


def _other_name(index, carried: set[str]) -> str:
    """The name of ``index`` that the table, whose indexes carry ``carried``, does not use."""
    model, alternate = index_names(index)
    return alternate if model in carried else model


def _create_index(index, table: str, name: str) -> str:
    columns = ", ".join(column.name for column in index.columns)
    unique = "UNIQUE " if index.unique else ""
    return f"CREATE {unique}INDEX {name} ON {table} ({columns})"
