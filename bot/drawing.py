"""Charts drawn on worker processes.

A chart's figure is built on the answer thread (a few milliseconds) and drawn to PNG on a pool
of processes: drawing is most of an answer's work, and on threads it would hold Python's lock
that the other answers, the acknowledgements and the Slack calls need. Figures travel to the
workers pickled (some twenty kilobytes). The workers start with the bot, so the first chart
does not wait for one to start.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def workers() -> int:
    """One per core (up to four): the bot's own threads mostly wait on Slack and the database."""
    return max(1, min(4, os.cpu_count() or 1))


class Drawing:
    def __init__(self, processes: int):
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # spawn: a fork of this threaded process could inherit a lock held by another thread
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.processes):
            pool.submit(_ready)
        return pool

    def close(self) -> None:
        """Stop the drawing processes (waiting for the charts in hand)."""
        self._pool.shutdown()

    def png(self, figure: Figure) -> bytes:
        from charts.render import to_png  # matplotlib is loaded: the figure exists

        pool = self._pool
        try:
            return pool.submit(to_png, figure).result()
        except BrokenProcessPool:
            log.error("a drawing process died; starting new ones", exc_info=True)
            with self._lock:
                if self._pool is pool:
                    self._pool = self._start()
            return to_png(figure)


def _ready() -> None:
    """Warm a worker up: its imports are done when the first chart comes."""
    import charts.render  # noqa: F401
