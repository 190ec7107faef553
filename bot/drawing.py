"""Charts drawn on worker processes.

A chart's figure is built on the answer thread (a few milliseconds) and drawn to PNG on a pool
of processes: drawing is most of an answer's work, and on threads it would hold Python's lock
that the other answers, the acknowledgements and the Slack calls need. Figures travel to the
workers pickled (some twenty kilobytes). The workers start with the bot, so the first chart
does not wait for one to start.

The workers end with the bot: ``close`` ends them (the bot's shutdown calls it), they leave
Ctrl-C to the bot (which ends them in order), and a worker whose bot died without closing
(``kill -9``) ends itself at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
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
        self._closed = False
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # spawn: a fork of this threaded process could inherit a lock held by another thread
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start)
        for _ in range(self.processes):
            pool.submit(_ready)
        return pool

    def close(self, timeout: float | None = None) -> None:
        """Stop the drawing processes. Without ``timeout``, after the charts in hand, however
        long they take; with it, the charts in hand get up to ``timeout`` seconds (0: none),
        then the processes still there are ended (SIGTERM, then SIGKILL). Either way every
        process is waited for. A chart asked for after this is drawn on the asking thread."""
        with self._lock:
            self._closed = True
            pool = self._pool
        # The pool lists neither its processes nor its managing thread publicly.
        processes = list((pool._processes or {}).values())  # noqa: SLF001
        manager = pool._executor_manager_thread  # noqa: SLF001
        pool.shutdown(wait=timeout is None, cancel_futures=True)
        if timeout is None:
            return
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join()
        if manager is not None:  # it notices the ended processes and closes the pool's queues
            manager.join(1.0)

    def png(self, figure: Figure) -> bytes:
        from charts.render import to_png  # matplotlib is loaded: the figure exists

        pool = self._pool
        if self._closed:
            return to_png(figure)
        try:
            return pool.submit(to_png, figure).result()
        except BrokenProcessPool:  # a worker died: new ones below, this chart drawn here
            pass
        except RuntimeError:  # the pool was closed in the meantime
            return to_png(figure)
        with self._lock:
            if not self._closed and self._pool is pool:
                log.error("a drawing process died; starting new ones")
                self._pool = self._start()
        return to_png(figure)


def _worker_start() -> None:
    """A worker leaves Ctrl-C (SIGINT, sent to the terminal's whole process group) to the bot,
    which ends the workers in order, and ends itself when the bot is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="teampuls-parent",
                         daemon=True).start()


def _end_with(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])  # ready when the bot's end of the pipe closes: the bot is gone
    os._exit(0)


def _ready() -> None:
    """Warm a worker up: its imports are done when the first chart comes."""
    import charts.render  # noqa: F401
