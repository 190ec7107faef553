"""Stopping the bot on SIGTERM (a service manager, a container's stop) or SIGINT (Ctrl-C).

The first signal stops the server's loop, so no new request is taken (``Stop`` is raised in
the main thread: waitress's loop ends on it, Socket Mode's wait too). Then, within the grace
period counted from the signal: the scheduler takes no new run, the answers in hand may
finish (new ones are refused), and the drawing processes and multiprocessing's resource
tracker are ended and waited for. What has not finished by then is abandoned, named in the
log, and the process exits — without waiting for threads stuck on Slack or the database. A
second signal while stopping changes nothing: the grace period already bounds the stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.drawing import Drawing
    from bot.scheduler import Scheduler

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)
DRAWING_SECONDS = 0.5  # of the grace period, kept for ending the drawing processes


class Stop(SystemExit):
    """Raised in the main thread by the first SIGTERM or SIGINT."""


class Shutdown:
    def __init__(self, grace_seconds: float):
        self.grace = grace_seconds
        self.signal: int | None = None
        self.deadline: float | None = None
        self._deferring = False

    def install(self) -> None:
        for number in SIGNALS:
            signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, _frame) -> None:
        if self.signal is not None:
            log.info("%s while stopping: the stop ends within its grace period",
                     signal.Signals(number).name)
            return
        self.signal = number
        self.deadline = time.monotonic() + self.grace
        log.info("%s: teampuls stops taking work and stops within %g s",
                 signal.Signals(number).name, self.grace)
        if not self._deferring:
            raise Stop(0)

    @contextlib.contextmanager
    def deferred(self):
        """Hold a signal's Stop until the block is done: starting processes, so that the stop
        knows every one it must end."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.signal is not None:
            raise Stop(0)

    def left(self, reserve: float = 0.0) -> float:
        """Seconds left of the grace period, less ``reserve`` (never below zero)."""
        if self.deadline is None:
            return 0.0
        return max(0.0, self.deadline - reserve - time.monotonic())

    def wind_down(self, *, scheduler: Scheduler | None, pools: tuple[ThreadPoolExecutor, ...],
                  drawing: Drawing | None) -> None:
        """End the bot's work and children (within the grace period when signalled; without a
        signal, as after a failed start, the answers are not waited for). ``pools``: the
        thread pools that answer (their answers in hand may finish)."""
        self._deferring = True  # a signal now must not cut the stop short: it is under way
        if self.deadline is None:
            self.deadline = time.monotonic()
        if scheduler is not None:
            scheduler.stop(timeout=0)  # a run in progress is abandoned with the rest
        if pools:
            for pool in pools:
                pool.shutdown(wait=False)  # no new answers; the queued ones may still run
            # The pools list neither their threads nor their queues publicly.
            threads = [t for pool in pools for t in pool._threads]  # noqa: SLF001
            unfinished = _join(threads, self.left(DRAWING_SECONDS))
            if unfinished:  # each queue holds its pool's end marker besides any answers
                queued = sum(max(0, pool._work_queue.qsize() - 1) for pool in pools)  # noqa: SLF001
                log.warning("stopping: %d answer(s) in hand and %d queued abandoned", unfinished,
                            queued)
            else:
                log.info("stopping: every answer in hand finished")
        if drawing is not None:  # no answer waits for a chart any more
            drawing.close(timeout=0)
        _stop_resource_tracker()

    def exit(self) -> None:
        """Leave at once, with the logs and output flushed: threads still waiting on Slack or
        the database are abandoned (their transactions roll back)."""
        log.info("teampuls stopped")
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(0)


def _join(threads: list[threading.Thread], seconds: float) -> int:
    """Wait up to ``seconds`` for the threads to end; how many did not."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return sum(thread.is_alive() for thread in threads)


def _stop_resource_tracker() -> None:
    """End multiprocessing's resource tracker (started for the drawing pool's queues) and wait
    for it, once the drawing processes are gone: otherwise it outlives the bot for a moment,
    re-parented to PID 1."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # noqa: SLF001
    if stop is None:  # pragma: no cover - older Pythons: it ends when the bot's fd closes
        return
    try:
        stop()
    except (OSError, ChildProcessError):  # pragma: no cover - gone already
        log.debug("the resource tracker had ended", exc_info=True)
