"""``/metrics``: the bot's figures in Prometheus's text format, through prometheus_client.

Two kinds of figure:

- this process's own: answers by kind (the slash command, ``form``, ``button``, ``home``) and
  outcome (``answered``, ``failed``: the user was told of an incident), the time from the start
  of an answer to its end, and the process's CPU, memory and open files. With several replicas
  each serves its own; sum them in Prometheus (``sum by (kind) (rate(...))``).
- the database's, read at scrape time with a few cheap statements (weekly dashboards by state,
  the imports): the same on every replica, so take them from one (``max without (instance)``).
  A database that does not answer gives ``teampuls_database_up 0`` and no database figures.
"""

from __future__ import annotations

import datetime as dt
import logging

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, func, select

from bot.logs import error_classes

log = logging.getLogger(__name__)

ANSWERS = Counter("teampuls_answers", "Answers to users, by kind and outcome",
                  ["kind", "outcome"], registry=None)
ANSWER_SECONDS = Histogram("teampuls_answer_seconds",
                           "Time from the start of an answer to its end (after the ack)",
                           ["kind"], registry=None,
                           buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60))
STATES = ("claimed", "pending", "sent", "skipped", "failed")


def kind_of(what: str) -> str | None:
    """The label of a guarded piece of work (``bot.app.Bot.guarded``'s ``what``); None for
    work that answers nobody (reading channel members)."""
    from commands.dispatch import COMMANDS

    if what.startswith("answering "):
        command = what.removeprefix("answering ")
        return command if command in COMMANDS else "other"
    if what == "saving a form":
        return "form"
    if what.startswith("the button "):
        return "button"
    if what == "the App Home":
        return "home"
    return None


def observe(what: str, failed: bool, seconds: float) -> None:
    kind = kind_of(what)
    if kind is None:
        return
    ANSWERS.labels(kind, "failed" if failed else "answered").inc()
    ANSWER_SECONDS.labels(kind).observe(seconds)


class DatabaseCollector:
    """The database's figures, read at each scrape."""

    def __init__(self, engine: Engine):
        from storage.database import reading

        self.engine = reading(engine)  # reads only: on SQLite, never behind the write lock

    def collect(self):
        from storage.models import DashboardDelivery, ImportRun

        up = GaugeMetricFamily("teampuls_database_up",
                               "1 when the database answered this scrape's questions")
        try:
            with self.engine.connect() as connection:
                states = dict(connection.execute(
                    select(DashboardDelivery.state, func.count())
                    .group_by(DashboardDelivery.state)).all())
                imports = connection.execute(select(
                    func.count(), func.coalesce(func.sum(ImportRun.rows), 0),
                    func.max(ImportRun.id))).one()
                last = connection.execute(
                    select(ImportRun.rows, ImportRun.finished_at)
                    .where(ImportRun.id == imports[2])).first() if imports[2] else None
        except Exception as error:
            log.warning("metrics: the database did not answer: %s", error_classes(error))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        deliveries = GaugeMetricFamily(
            "teampuls_dashboard_deliveries",
            "Weekly dashboards by state (sent: posted; failed: refused by Slack; pending: to "
            "be tried again; claimed: being posted; skipped)", labels=["state"])
        for state in STATES:
            deliveries.add_metric([state], states.get(state, 0))
        yield deliveries
        runs = CounterMetricFamily("teampuls_imports", "Committed imports")
        runs.add_metric([], imports[0])
        yield runs
        rows = CounterMetricFamily("teampuls_import_rows",
                                   "Rows brought by committed imports (since 0013)")
        rows.add_metric([], imports[1])
        yield rows
        if last is not None:
            last_rows = GaugeMetricFamily("teampuls_last_import_rows",
                                          "Rows the last committed import brought")
            last_rows.add_metric([], last.rows or 0)
            yield last_rows
            if last.finished_at is not None:
                at = last.finished_at if last.finished_at.tzinfo else \
                    last.finished_at.replace(tzinfo=dt.timezone.utc)
                when = GaugeMetricFamily("teampuls_last_import_timestamp_seconds",
                                         "When the last import was committed (Unix time)")
                when.add_metric([], at.timestamp())
                yield when


def exposition(engine: Engine):
    """What ``/metrics`` serves: a callable giving (content type, body)."""
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

    registry = CollectorRegistry(auto_describe=False)
    for collector in (ANSWERS, ANSWER_SECONDS, PROCESS_COLLECTOR, PLATFORM_COLLECTOR,
                      GC_COLLECTOR, DatabaseCollector(engine)):
        registry.register(collector)

    def serve() -> tuple[str, bytes]:
        return CONTENT_TYPE_LATEST, generate_latest(registry)

    return serve
