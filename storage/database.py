"""Engines, sessions and schema upgrades.

SQLite (the default) is opened in WAL mode with a busy timeout, foreign keys and secure delete
on; PostgreSQL is reached through psycopg 3.

On SQLite a transaction begins IMMEDIATE (it takes the write lock at BEGIN, waiting for it up to
the busy timeout) unless its sessions are made with ``read_only=True``: a deferred transaction
that reads and then writes cannot wait for the lock — SQLite refuses the upgrade at once
("database is locked") when another connection wrote since its read — so every transaction
that may write says so up front, and reads stay deferred (they never wait for a writer in WAL
mode).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseError
from storage.schema_revision import MIGRATIONS, head_revision

SQLITE_BUSY_TIMEOUT_MS = 10_000
_log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Let plain ``postgresql://`` URLs use psycopg 3, the driver teampuls installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               hide_parameters=True)  # no typed text in logs or errors
        event.listen(engine, "connect", _sqlite_pragmas)
        # Python's sqlite3 opens transactions only before INSERT, UPDATE and DELETE, so DDL and
        # reads would run outside the transaction; SQLAlchemy's recipe for transactional DDL
        # ("Serializable isolation / Savepoints / Transactional DDL") lets it emit BEGIN itself,
        # IMMEDIATE or DEFERRED as the connection's execution options say.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


SQLITE_BEGIN = "sqlite_begin"  # execution option: "IMMEDIATE" (the default) or "DEFERRED"


def _sqlite_begin(connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    if mode not in ("IMMEDIATE", "DEFERRED"):
        raise ValueError(f"{SQLITE_BEGIN} must be IMMEDIATE or DEFERRED, not {mode!r}")
    if mode == "DEFERRED":
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
    begin_immediate(connection.connection.driver_connection, connection.engine.url.database,
                    execute=connection.exec_driver_sql)  # errors as SQLAlchemy's


# How a writer waits for SQLite's write lock. SQLite's own busy handler sleeps in growing steps
# (1, 2, 5, ... up to 100 ms between tries), so a waiter wakes up at fixed moments, and a
# writer that commits and begins again at once (an import's batches) takes the lock back in
# between: measured, bot writes waited up to 10 s behind batches that held the lock for 1 s
# at most. Here a waiter tries every few milliseconds, and says that it waits by holding a
# shared lock on ``<database>-waiting.lock``; a long writer (``let_waiters_in``) lets everyone
# who waits have a turn before it begins its next transaction.
_POLL_SECONDS = (0.001, 0.002, 0.002, 0.005)  # then 5 ms between tries
_TURN_SECONDS = 3.0  # a long writer gives waiters at most this long before it goes on


def _waiting_lock(database: str | None):
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-waiting.lock"


def begin_immediate(raw, database: str | None,
                    timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000, execute=None) -> None:
    """BEGIN IMMEDIATE on the sqlite3 connection ``raw`` of the file ``database`` (through
    ``execute``, by default ``raw.execute``): wait for the write lock up to ``timeout``
    seconds, trying every few milliseconds (see above); then fail as SQLite does."""
    import fcntl
    import time

    execute = execute or raw.execute

    raw.execute("PRAGMA busy_timeout=0")
    waiting = None
    try:
        deadline = time.monotonic() + timeout
        tries = 0
        while True:
            try:
                execute("BEGIN IMMEDIATE")
                return
            except Exception as error:  # sqlite3's or SQLAlchemy's OperationalError
                if "database is locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            if waiting is None and (path := _waiting_lock(database)) is not None:
                waiting = open(path, "a+b")  # noqa: SIM115
                fcntl.flock(waiting.fileno(), fcntl.LOCK_SH)
            time.sleep(_POLL_SECONDS[min(tries, len(_POLL_SECONDS) - 1)])
            tries += 1
    finally:
        if waiting is not None:
            waiting.close()  # releases the shared lock
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def let_waiters_in(database: str | None) -> None:
    """Called by a writer that has just committed and is about to begin again (an import's
    batches): wait until every writer that waits for the lock has had it, or ``_TURN_SECONDS``.
    Costs one system call when nobody waits."""
    import fcntl
    import time

    path = _waiting_lock(database)
    if path is None:
        return
    with open(path, "a+b") as turns:
        deadline = time.monotonic() + _TURN_SECONDS
        while True:
            try:
                fcntl.flock(turns.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return  # nobody waits (closing the file releases the lock)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.002)


def reading(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they begin DEFERRED."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: see make_engine
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Deleted rows (an erased citizen) are overwritten with zeros, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def session_factory(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for transactions that may write; with ``read_only``, for ones that only read
    (on SQLite those begin DEFERRED, see the module's docstring)."""
    return sessionmaker(reading(engine) if read_only else engine, expire_on_commit=False)


@contextlib.contextmanager
def bulk_load(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for an import, committed at the end, as ``sessions.begin()``; on a SQLite
    file, with shadow tables (``storage.shadow``) in ``session.info["shadow"]``.

    On SQLite its foreign keys are not checked row by row: SQLite looks up each visit's and
    hours row's team in the teams table, about a tenth of an insert's time, while the importer
    writes only team ids it has looked up or created in the same transaction. SQLite changes
    the setting only outside a transaction, so it is set on the connection before BEGIN and set
    back after, before the connection returns to the pool.
    """
    from storage import shadow

    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        with sessions.begin() as session:
            yield session
        return
    # On a database file the session's transaction begins (IMMEDIATE) only when the import
    # has read every file: until then it writes shadow tables in short transactions.
    shadows = shadow.ShadowTables(engine) if shadow.supported(engine) else None
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with sessions(bind=connection) as session, session.begin():
                    session.info["shadow"] = shadows
                    yield session
            finally:
                raw.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        if shadows is not None:
            try:
                shadows.cleanup()  # after the rollback: the database is as it was
            except Exception as error:  # the import's own error is the one to report
                _log.warning("an import's shadow tables are removed later (by the next import "
                             "or erase): %s", type(error).__name__)
        raise
    else:
        if shadows is not None:
            shadows.purge()  # the replaced tables, in short transactions after the commit
    finally:
        if shadows is not None:
            shadows.close()


def current_revision(engine: Engine) -> str | None:
    with reading(engine).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database when it is behind; cheap when it is up to date."""
    try:
        if current_revision(engine) == head_revision():
            return
        upgrade(engine)
    except Exception as error:  # translated at the edge into one clear line
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"cannot open or upgrade the database {url}: {error}") from error
