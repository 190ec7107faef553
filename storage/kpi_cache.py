"""KPI values change only when an import refreshes them, and every team's answer reads the same
weeks of every team (its benchmark). ``KpiCache`` keeps recent reads between requests, keyed by
the ``kpi_version`` that each refresh raises in its own transaction, so a stale copy is never
used: a request reads the version once, in its transaction, and takes only copies of that
version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from functools import cached_property

from storage.queries import Fetch, KpiHistory, WeekValues, kpi_history, week_values

ENTRIES = 24  # a 26-week history of 1,000 teams is about 3 MB


class KpiCache:
    """Shared by the requests of one process; safe across threads. Copies handed out are
    shared too: callers must not change them. Requests that want the same copy while it is
    being read wait for that one read instead of reading it again."""

    def __init__(self, entries: int = ENTRIES):
        self.entries = entries
        self._copies: OrderedDict[tuple, object] = OrderedDict()
        self._reading: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.newest_version: int | None = None  # the newest kpi_version a request has read

    def saw(self, version: int) -> None:
        with self._lock:
            if self.newest_version is None or version > self.newest_version:
                self.newest_version = version

    def get(self, key: tuple, read: Callable[[], object]) -> object:
        with self._lock:
            if key in self._copies:
                self._copies.move_to_end(key)
                self.hits += 1
                return self._copies[key]
            pending = self._reading.get(key)
            if pending is None:
                self.misses += 1
                pending = self._reading[key] = Future()
                mine = True
            else:
                mine = False
        if not mine:
            return pending.result()
        try:
            value = read()  # outside the lock: other keys are read meanwhile
        except BaseException as error:
            with self._lock:
                del self._reading[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._reading[key]
            self._copies[key] = value
            while len(self._copies) > self.entries:
                self._copies.popitem(last=False)
        pending.set_result(value)
        return value


class KpiReads:
    """The KPI reads of one request, through ``cache`` when there is one."""

    def __init__(self, fetch: Fetch, cache: KpiCache | None = None):
        self.fetch = fetch
        self.cache = cache

    @cached_property
    def version(self) -> int:
        version = self.fetch("SELECT version FROM kpi_version", {})[0][0]
        if self.cache is not None:
            self.cache.saw(version)
        return version

    def week_values(self, week: int) -> WeekValues:
        return self._read(("week", week), lambda: week_values(self.fetch, week))

    def history(self, kpi: str, first_week: int, last_week: int) -> KpiHistory:
        return self._read(("history", kpi, first_week, last_week),
                          lambda: kpi_history(self.fetch, kpi, first_week, last_week))

    def computed(self, key: tuple, compute: Callable[[], object]) -> object:
        """What ``compute`` makes of the imported data (a team's capacity plan, say), kept
        like a read: until the next import."""
        return self._read(("computed", *key), compute)

    def _read(self, key: tuple, read: Callable[[], object]):
        if self.cache is None:
            return read()
        return self.cache.get((self.version, *key), read)
