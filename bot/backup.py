"""Backups of a SQLite database, its restore, and stepping the schema down.

A backup uses SQLite's online backup API (``sqlite3.Connection.backup``): it copies the pages
under SQLite's own locks, so it is consistent while the bot reads and writes (copying the file
alone is not: the write-ahead log holds what is not yet in it). It is written beside PATH and
renamed into place, so PATH is always a whole backup.

A restore checks the file first (a SQLite database, intact, with teampuls's tables and a
schema revision this version knows) and then copies it into the database with the same API,
in one write transaction: a reader sees the old database or the restored one, never a mix,
and the write-ahead log stays consistent (replacing the file under an open database does not).

PostgreSQL has its own tools: ``pg_dump`` and ``pg_restore``; these functions say so.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3

from sqlalchemy.engine import make_url

from storage.errors import DatabaseError
from storage.schema_revision import MIGRATIONS, head_revision

BUSY_TIMEOUT_SECONDS = 10


def sqlite_path(database_url: str, what: str) -> pathlib.Path:
    """The file of a SQLite URL; for any other database, a DatabaseError naming its tool."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        tool = "pg_dump --format=custom --file=PATH DBNAME" if what == "backup" else \
            "pg_restore --clean --if-exists --dbname=DBNAME PATH"
        raise DatabaseError(f"teampuls db {what} is for SQLite databases; for "
                            f"{url.get_backend_name()} use its own tool: {tool} "
                            "(docs/going-live.md, section 7)")
    if not url.database or url.database == ":memory:":
        raise DatabaseError("the database is in memory: there is nothing to back up or restore")
    return pathlib.Path(url.database)


@contextlib.contextmanager
def _open(path: pathlib.Path, *, read_only: bool):
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=BUSY_TIMEOUT_SECONDS)
    else:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        yield connection
    finally:
        connection.close()


def backup(database_url: str, target: pathlib.Path) -> str | None:
    """Copy the SQLite database to ``target`` (replaced whole); returns its schema revision."""
    source_path = sqlite_path(database_url, "backup")
    if not source_path.is_file():
        raise DatabaseError(f"there is no database at {source_path}")
    if target.resolve() == source_path.resolve():
        raise DatabaseError("the backup must go to another file than the database itself")
    if target.is_dir():
        raise DatabaseError(f"{target} is a folder; name the backup file")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with _open(source_path, read_only=True) as source, _open(partial, read_only=False) \
                as copy:
            # In one step: one read transaction, which in WAL mode never holds writers up; a
            # backup in steps starts over each time another connection writes, and may never
            # finish while the bot writes.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise DatabaseError("the copy failed SQLite's check; nothing was written")
            revision = _revision(copy)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return revision


def check_backup(path: pathlib.Path) -> str:
    """The schema revision of a teampuls backup; DatabaseError says why ``path`` is not one
    this version can restore."""
    if not path.is_file():
        raise DatabaseError(f"there is no file at {path}")
    with path.open("rb") as file:
        if file.read(16) != b"SQLite format 3\x00":
            raise DatabaseError(f"{path} is not a SQLite database")
    try:
        with _open(path, read_only=True) as connection:
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise DatabaseError(f"{path} is damaged (SQLite's quick_check failed)")
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = _revision(connection) if "alembic_version" in tables else None
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path} cannot be read as a SQLite database "
                            f"({type(error).__name__})") from None
    if revision is None or not {"teams", "kpi_values"} <= tables:
        raise DatabaseError(f"{path} is not a teampuls database (no teampuls tables or "
                            "schema revision)")
    head = head_revision()
    if not (revision.isdigit() and revision <= head and len(revision) == len(head)):
        raise DatabaseError(f"{path} has schema revision {revision}, newer than this version "
                            f"of teampuls knows ({head}): restore it with the version that "
                            "made it")
    return revision


def restore(source: pathlib.Path, database_url: str) -> str:
    """Copy the backup at ``source`` over the SQLite database; returns its revision."""
    target = sqlite_path(database_url, "restore")
    revision = check_backup(source)
    if target.exists() and target.resolve() == source.resolve():
        raise DatabaseError("the backup is the database itself")
    with _open(source, read_only=True) as backup_file, _open(target, read_only=False) as live:
        live.execute("PRAGMA journal_mode=WAL")
        backup_file.backup(live)  # one write transaction: all of it or nothing
    return revision


def revisions() -> list[str]:
    """Every schema revision this version knows, oldest first."""
    return sorted(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None
