"""Where a SQLite write waits: every write transaction's timings, for the benchmarks.

``install`` makes every ``sqlite3`` connection of this process (SQLAlchemy's and raw ones
alike) record each transaction it runs: how long its ``BEGIN IMMEDIATE`` waited for the write
lock, how long the lock was held (from the end of BEGIN to the end of COMMIT or ROLLBACK), how
long the COMMIT itself took (a commit that crosses ``wal_autocheckpoint`` runs a checkpoint
before it returns), and a label: the first statement that writes, shortened, so that the
import's batches, its final transaction and the bot's writes can be told apart.

Only the benchmarks use this; it changes nothing in how statements run.
"""

from __future__ import annotations

import atexit
import json
import re
import sqlite3
import threading
import time

_records: list[dict] = []
_lock = threading.Lock()
_installed = False
_WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|REPLACE)\b", re.I)


def _label(sql: str) -> str:
    words = re.sub(r"\s+", " ", sql.strip()).split(" ")
    return " ".join(words[:4])[:60]


class _State:
    __slots__ = ("begin_call", "acquired", "label", "first", "statements", "mode")

    def __init__(self, begin_call: float, acquired: float, mode: str):
        self.begin_call = begin_call
        self.acquired = acquired
        self.mode = mode
        self.label = None
        self.first = None
        self.statements = 0


class _Tracing:
    """What both the connection and its cursors do around a statement."""

    def __init__(self, role: str):
        self.role = role
        self.tx: _State | None = None
        self.waiting_since: float | None = None

    def before(self, sql: str) -> float:
        return time.perf_counter()

    def after(self, sql: str, started: float, ok: bool) -> None:
        now = time.perf_counter()
        head = sql.lstrip()[:16].upper()
        if head.startswith("BEGIN"):
            # A BEGIN that found the lock taken is tried again: the wait runs from the first try.
            first = self.waiting_since if self.waiting_since is not None else started
            self.waiting_since = None if ok else first
            if ok:
                self.tx = _State(first, now, "IMMEDIATE" if "IMMEDIATE" in head else "DEFERRED")
        elif head.startswith("COMMIT") or head.startswith("ROLLBACK") or head.startswith("END"):
            self.end(started, now, head.split()[0])
        elif self.tx is not None:
            self.tx.statements += 1
            if self.tx.first is None and not head.startswith("PRAGMA"):
                self.tx.first = _label(sql)
            if self.tx.label is None and _WRITES.match(sql):
                self.tx.label = _label(sql)

    def end(self, commit_started: float, now: float, how: str) -> None:
        tx, self.tx = self.tx, None
        if tx is None:
            return
        record = {"role": self.role, "mode": tx.mode, "label": tx.label or f"(read only) {tx.first}",
                  "how": how, "at": tx.acquired, "wait": tx.acquired - tx.begin_call,
                  "held": now - tx.acquired, "commit": now - commit_started,
                  "thread": threading.current_thread().name}
        with _lock:
            _records.append(record)


def install(role: str, path: str | None = None) -> None:
    """Trace every sqlite3 connection opened from now on; with ``path``, write the records
    there (JSON lines) when the process ends."""
    global _installed
    if _installed:
        return
    _installed = True

    def traced(method):
        def call(self, sql, *args):
            trace = self.connection._trace
            started = trace.before(sql)
            ok = False
            try:
                result = method(self, sql, *args)
                ok = True
                return result
            finally:
                trace.after(sql, started, ok)

        return call

    class Cursor(sqlite3.Cursor):
        execute = traced(sqlite3.Cursor.execute)
        executemany = traced(sqlite3.Cursor.executemany)

    class Connection(sqlite3.Connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._trace = _Tracing(role)

        def cursor(self, factory=Cursor):
            return super().cursor(factory)

        def execute(self, sql, *args):
            return self.cursor().execute(sql, *args)

        def executemany(self, sql, *args):
            return self.cursor().executemany(sql, *args)

        def commit(self):
            started = time.perf_counter()
            try:
                return super().commit()
            finally:
                if self._trace.tx is not None:
                    self._trace.end(started, time.perf_counter(), "COMMIT")

        def rollback(self):
            started = time.perf_counter()
            try:
                return super().rollback()
            finally:
                if self._trace.tx is not None:
                    self._trace.end(started, time.perf_counter(), "ROLLBACK")

    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        kwargs.setdefault("factory", Connection)
        return connect(*args, **kwargs)

    sqlite3.connect = traced_connect
    sqlite3.dbapi2.connect = traced_connect  # the module SQLAlchemy's driver imports
    if path is not None:
        atexit.register(_dump, path)


def _dump(path: str) -> None:
    with _lock, open(path, "w") as out:
        for record in _records:
            out.write(json.dumps(record) + "\n")


def records(clear: bool = False) -> list[dict]:
    """What was recorded in this process (and forget it, with ``clear``)."""
    with _lock:
        taken = list(_records)
        if clear:
            _records.clear()
        return taken


def summary(records: list[dict], since: float | None = None) -> list[str]:
    """Lines per (role, kind of transaction): count, lock wait and hold p50/p99/max, and the
    longest commits."""
    import numpy as np

    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        if record["mode"] != "IMMEDIATE":
            continue
        label = re.sub(r"\d+", "N", record["label"])
        groups.setdefault((record["role"], label), []).append(record)
    lines = []
    for (role, label), group in sorted(groups.items(), key=lambda g: -max(r["held"] for r in g[1])):
        held = np.array([r["held"] for r in group]) * 1000
        wait = np.array([r["wait"] for r in group]) * 1000
        commit = np.array([r["commit"] for r in group]) * 1000
        lines.append(
            f"  {role:6} {label[:44]:44} n={len(group):5} held p50 {np.median(held):7,.0f} "
            f"p99 {np.percentile(held, 99):7,.0f} max {held.max():7,.0f} ms | wait p99 "
            f"{np.percentile(wait, 99):6,.0f} max {wait.max():6,.0f} | commit max "
            f"{commit.max():6,.0f} ms")
    return lines
