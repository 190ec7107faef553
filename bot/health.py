"""``/healthz``: is the database there? One cheap query through the app's engine, with a
short timeout, so that a process supervisor or load balancer learns of a lost database.

The query runs on a thread of its own and is waited for ``timeout`` seconds: a database that
does not answer (a PostgreSQL host gone from the network, a SQLite file on a hung disk) fails
the check without holding the HTTP thread. While one check hangs, later ones fail at once
instead of piling up threads.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, text

from bot.logs import error_classes

from storage.database import reading

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2.0


def database_check(engine: Engine) -> Callable[[], None]:
    """One round trip that reads the database: the schema revision (a row, so SQLite reads
    its file, not only an open connection). Raises when the database does not answer."""

    engine = reading(engine)  # a read: on SQLite it must not wait for the write lock

    def check() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    return check


class HealthCheck:
    """``__call__`` gives None when healthy, else the reason (error classes only), and logs
    one line per failed check."""

    def __init__(self, check: Callable[[], None], timeout: float = HEALTH_TIMEOUT_SECONDS):
        self.check = check
        self.timeout = timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="teampuls-health")
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future | None = None

    def __call__(self) -> str | None:
        with self._lock:
            if self._running is not None and not self._running.done():
                reason = "the previous database check has not come back"
                log.warning("health check failed: %s", reason)
                return reason
            future = self._running = self._pool.submit(self.check)
        try:
            future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            reason = f"the database did not answer within {self.timeout:g} s"
        except Exception as error:
            reason = f"the database did not answer: {error_classes(error)}"
        else:
            return None
        log.warning("health check failed: %s", reason)
        return reason

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
