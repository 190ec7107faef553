"""What the entry point hands down: settings, the clock's reading and the database.

Built once from the environment by the command line (or by a test, with its own values);
nothing below it reads the environment or the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings


@dataclass
class Edge:
    settings: Settings
    now: dt.datetime  # aware, in the default time zone: when the command started
    # The clock of a long-running process (the bot); None: time stands still at ``now``.
    clock: Callable[[], dt.datetime] | None = None

    def current(self) -> dt.datetime:
        """The time now: the clock's reading, or ``now`` when there is no clock (tests)."""
        return self.clock() if self.clock is not None else self.now

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @functools.cached_property
    def engine(self):
        from storage.database import ensure_schema, make_engine

        engine = make_engine(self.settings.database_url)
        ensure_schema(engine)
        return engine

    @functools.cached_property
    def sessions(self):
        from storage.database import session_factory

        return session_factory(self.engine)

    @functools.cached_property
    def reads(self):
        """Sessions for transactions that only read (on SQLite they begin DEFERRED)."""
        from storage.database import session_factory

        return session_factory(self.engine, read_only=True)


def from_environment(env_file: str | None = None, database_url: str | None = None) -> Edge:
    """The edge of a real run: ``.env`` (or ``env_file``), then the environment, then the clock."""
    import os
    import zoneinfo

    from dotenv import load_dotenv

    load_dotenv(env_file or ".env", override=False)
    environ = dict(os.environ)
    if database_url:
        environ["DATABASE_URL"] = database_url
    settings = Settings.from_environ(environ)
    zone = zoneinfo.ZoneInfo(settings.timezone)
    return Edge(settings, dt.datetime.now(zone), clock=lambda: dt.datetime.now(zone))
