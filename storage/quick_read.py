"""A read-only DB-API connection for one-shot commands that must start fast (``teampuls kpi``).

Importing SQLAlchemy costs more than a third of a second; the standard library's sqlite3 (and
psycopg on PostgreSQL) answer a couple of plain queries in a fraction of that. The quick path
is taken only when the database exists and its schema is current; otherwise ``open`` returns
None and the caller goes the full way, which creates or upgrades the schema.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Iterator

from storage.queries import Fetch
from storage.schema_revision import head_revision

_NAMED = re.compile(r":(\w+)")


@contextlib.contextmanager
def open_fetch(url: str) -> Iterator[Fetch | None]:
    """A Fetch over a fresh read-only connection to ``url``, or None to go the full way."""
    connection, placeholders, error = _connect(url)
    if connection is None:
        yield None
        return
    try:
        cursor = connection.cursor()

        def fetch(sql, params):
            cursor.execute(_NAMED.sub(placeholders, sql) if placeholders else sql, params)
            return cursor.fetchall()

        try:
            current = fetch("SELECT version_num FROM alembic_version", {})
        except error:  # no such table: a new database, which the full way creates
            current = []
        yield fetch if current == [(head_revision(),)] else None
    finally:
        connection.close()


def _connect(url: str):
    scheme, _, rest = url.partition("://")
    if scheme in ("sqlite", "sqlite+pysqlite"):
        import sqlite3

        path = urllib.parse.urlsplit("//" + rest).path.removeprefix("/")
        if not path or path == ":memory:" or "?" in rest:
            return None, None, None
        try:  # read-only: never creates the file, never takes a write lock
            uri = f"file:{urllib.parse.quote(path)}?mode=ro"
            return sqlite3.connect(uri, uri=True), None, sqlite3.Error
        except sqlite3.Error:
            return None, None, None  # missing or unreadable: the full way says why
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        try:
            import psycopg
        except ImportError:
            return None, None, None
        try:
            connection = psycopg.connect(f"postgresql://{rest}", autocommit=True)
        except psycopg.Error:
            return None, None, None  # the full way says why
        return connection, r"%(\1)s", psycopg.Error
    return None, None, None
