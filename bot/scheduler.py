"""The bot's clock-driven work: a thread that runs each job every so often (the weekly
dashboard's posting every minute), logging what a run did and any failure; a failed run is
tried again at the next tick, never silently dropped."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.edge import Edge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], object]


class Scheduler:
    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run every job at once (catching up after downtime), then at its interval."""
        self._thread = threading.Thread(target=self._loop, name="teampuls-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        import time

        due = {job.name: 0.0 for job in self.jobs}
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if now >= due[job.name]:
                    self.run_once(job)
                    due[job.name] = time.monotonic() + job.every_seconds
            wait = min(due.values()) - time.monotonic()
            self._stop.wait(max(wait, 0.05))

    @staticmethod
    def run_once(job: Job) -> None:
        try:
            job.run()
        except Exception:
            log.exception("the scheduled job %s failed; it runs again at the next tick", job.name)


DIGEST_HOUR = 8  # digests and summaries go out from 08:00 in the default time zone


def monday_week(now: dt.datetime) -> str | None:
    """The week's label from Monday ``DIGEST_HOUR`` on (the period of a weekly digest);
    None on other days and earlier."""
    from metrics import weeks

    if now.weekday() != 0 or now.hour < DIGEST_HOUR:
        return None
    return weeks.label(weeks.week_index(now.date()))


def once_per_period(edge: Edge, job: str, period: str, run: Callable[[], object], *,
                    poster: str, lease: dt.timedelta) -> bool:
    """Run ``run`` for ``period`` (a week's label, a month) once, whatever the replicas: the
    job's run is claimed first (``storage.claims``), and marked done after. False: another
    replica has it, or it is done."""
    from storage.claims import claim_row, finish_row
    from storage.models import JobRun

    with edge.sessions.begin() as session:
        row = claim_row(session, JobRun, {"job": job, "period": period}, poster,
                        edge.current(), lease)
    if row is None:
        return False
    run()
    with edge.sessions.begin() as session:
        finish_row(session, JobRun, row, poster, state="sent")
    return True
