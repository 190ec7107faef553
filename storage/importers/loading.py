"""Write checked chunks into the database by the contract's replacement rules, and keep track
of which team-weeks an import touches so that exactly those KPI values are recomputed.

- staff: the key (employee_id, start_date) replaces; the weeks of the old and new periods change.
- hours: a file replaces every earlier row of each (team, date) pair it contains.
- visits: the key visit_id replaces; the old visit's week changes too.
- norms: the key (team, profession, valid_from) replaces.

Writing runs on one worker thread, one chunk behind the reading and checking of the next chunk,
so that the database works while Python parses: ``write`` hands a chunk over and returns, and
``wait`` blocks until every chunk handed over is written (and raises what writing raised).

A first load into an empty table writes it without its secondary indexes and keeps its rows in
hand (``VisitsInHand``, ``HoursInHand``): at the end the indexes are built on the worker
thread while the KPI refresh computes from the rows in hand (``restore_indexes``).

On a SQLite file (``storage.shadow``) no write lock is held while files are read: the visits and
hours tables are built anew in shadow tables (the rows they held, then every file's chunks by the
rules above) in short transactions of their own; the few staff and norms chunks are kept and
written in the final transaction (``finish``), which swaps the shadows in.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from metrics import weeks
from metrics.visit_components import VISIT_SUMS
from storage import shadow as shadow_tables
from storage import staging
from storage.bulk import SuspendedIndexes, insert_frame
from storage.importers.validation import EPOCH_ORDINAL
from storage.models import Base, Team

_log = logging.getLogger(__name__)
_SQLITE_CACHE_KIB = 256 * 1024
_STAGES = (staging.STAGE_VISITS, staging.STAGE_STAFF, staging.STAGE_NORMS, staging.STAGE_PAIRS)


def iso_dates(ordinals: pd.Series) -> pd.Series:
    """ISO date text of date ordinals (``None`` where the ordinal is 0). A chunk holds few
    distinct dates, so each is formatted once."""
    codes, distinct = pd.factorize(ordinals.to_numpy(dtype=np.int64))
    text_dates = (distinct - EPOCH_ORDINAL).astype("datetime64[D]").astype(str).astype(object)
    text_dates[distinct <= 0] = None
    return pd.Series(text_dates[codes], dtype=object)


def weeks_of(ordinals: pd.Series) -> pd.Series:
    return weeks.of_ordinal(ordinals.astype(np.int64))



class TeamsAdded(RuntimeError):
    """A team was added (by the bot, or an admin) while an import that creates teams ran: the
    numbers planned for its new teams are taken. Nothing was written; importing the same files
    again goes through (``runner.import_files`` does so by itself)."""

class VisitsInHand:
    """The visits an import writes into an empty table, kept as integer codes while they are
    all the table holds, so that the KPI refresh sums them in memory instead of reading them
    back: the delivered visits per team, week, citizen and employee, and the rows per team-week.
    """

    def __init__(self, team_ids: dict[str, int]) -> None:
        self._team_ids = team_ids  # team code -> id, filled in as the writer meets teams
        self._codes: dict[str, dict] = {"team": {}, "citizen_ref": {}, "employee_id": {}}
        self._delivered: list[pd.DataFrame] = []
        self._rows: list[pd.DataFrame] = []  # team_id, week, visit_rows of each chunk
        self._sums: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """A checked chunk of visits (columns team, citizen_ref, employee_id, date, minutes,
        status)."""
        team = self._code("team", frame["team"])
        week = weeks_of(frame["date"]).to_numpy(dtype=np.int64)
        self._rows.append(pd.DataFrame({"team_id": team, "week": week}).value_counts()
                          .rename("visit_rows").reset_index())
        delivered = (frame["status"] == "delivered").to_numpy()
        # Narrow integers: millions of visits are held until the refresh (codes and week
        # indexes are far below 2**31, a visit's minutes too).
        self._delivered.append(pd.DataFrame({
            "team_id": team[delivered].astype(np.int32),
            "week": week[delivered].astype(np.int32),
            "citizen_ref": self._code("citizen_ref", frame["citizen_ref"][delivered])
            .astype(np.int32),
            "employee_id": self._code("employee_id", frame["employee_id"][delivered])
            .astype(np.int32),
            "visits": np.ones(int(delivered.sum()), dtype=np.int8),
            "minutes": frame["minutes"].to_numpy(dtype=np.int32)[delivered],
        }))

    def _code(self, name: str, values: pd.Series) -> np.ndarray:
        return _codes(self._codes[name], values)

    def sums(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The visit sums (``metrics.visit_components.VISIT_SUMS``), and the rows of each
        team-week (team_id, week, visit_rows); teams by their database ids. Summed once: call
        it after the last ``add``."""
        if self._sums is None:
            self._sums = self._sum()
        return self._sums

    def _sum(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        ids = np.array([self._team_ids[code] for code in self._codes["team"]], dtype=np.int64)
        sums = pd.concat(self._delivered, ignore_index=True) if self._delivered else \
            pd.DataFrame(columns=list(VISIT_SUMS), dtype=np.int64)
        sums["team_id"] = ids[sums["team_id"].to_numpy(dtype=np.int64)]
        counts = pd.concat([pd.DataFrame(columns=["team_id", "week", "visit_rows"],
                                         dtype=np.int64), *self._rows], ignore_index=True)
        rows = counts.groupby(["team_id", "week"], as_index=False)["visit_rows"].sum()
        rows["team_id"] = ids[rows["team_id"].to_numpy(dtype=np.int64)]
        return sums, rows


class HoursInHand:
    """The hours an import writes into an empty table, kept while they are all the table
    holds, so that the KPI refresh sums them in memory (and can do so while the database
    builds the tables' indexes): per team-week the worked, temp and sick hours and the rows,
    and the sick episodes by the contract's rule."""

    def __init__(self, team_ids: dict[str, int]) -> None:
        self._team_ids = team_ids
        self._teams: dict[str, int] = {}
        self._employees: dict[str, int] = {}
        self._chunks: list[pd.DataFrame] = []
        self._sums: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """A checked chunk of hours (columns team, date, employee_id, kind, hours)."""
        employee = frame["employee_id"]
        known = employee.notna().to_numpy()
        codes = np.full(len(frame), -1, dtype=np.int64)  # -1: no employee (a temp)
        codes[known] = _codes(self._employees, employee[known])
        self._chunks.append(pd.DataFrame({
            "team": _codes(self._teams, frame["team"]),
            "week": weeks_of(frame["date"]).to_numpy(dtype=np.int64),
            "date": frame["date"].to_numpy(dtype=np.int64),
            "employee": codes,
            "kind": frame["kind"].to_numpy(dtype=object),
            "hours": frame["hours"].to_numpy(dtype=float),
        }))

    def sums(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per team-week (teams by database id): worked, temp, sick and hours_rows; and
        sick_episodes (only team-weeks with episodes). Summed once: call it after the last
        ``add``."""
        if self._sums is None:
            self._sums = self._sum()
        return self._sums

    def _sum(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = {"team": np.int64, "week": np.int64, "date": np.int64, "employee": np.int64,
                   "kind": object, "hours": float}
        rows = pd.concat([pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()}),
                          *self._chunks], ignore_index=True)
        ids = np.array([self._team_ids[code] for code in self._teams], dtype=np.int64)
        rows["team_id"] = ids[rows["team"].to_numpy()] if len(ids) else rows["team"]
        kind = rows["kind"].to_numpy()
        hours = rows["hours"].to_numpy()
        sums = rows[["team_id", "week"]].assign(
            worked=np.where(kind == "worked", hours, 0.0),
            temp=np.where(kind == "temp", hours, 0.0),
            sick=np.where(kind == "sick", hours, 0.0), hours_rows=1,
        ).groupby(["team_id", "week"], as_index=False).sum()
        # A sick episode starts on a sick day (a sick row with hours > 0) whose employee's
        # most recent earlier date with any hours row, of any kind and team, is not a sick day.
        named = rows[rows["employee"].to_numpy() >= 0]
        sick_row = (named["kind"].to_numpy() == "sick") & (named["hours"].to_numpy() > 0)
        days = named[["employee", "date"]].assign(sick=sick_row).groupby(
            ["employee", "date"], as_index=False)["sick"].max()  # sorted by employee, date
        employee = days["employee"].to_numpy()
        sick = days["sick"].to_numpy()
        first_day = np.r_[True, employee[1:] != employee[:-1]]
        before = np.r_[False, sick[:-1]]
        starts = days.loc[sick & (first_day | ~before), ["employee", "date"]]
        episodes = named.loc[sick_row, ["team_id", "week", "employee", "date"]] \
            .drop_duplicates().merge(starts, on=["employee", "date"])
        sick_episodes = episodes.groupby(["team_id", "week"], as_index=False).size() \
            .rename(columns={"size": "sick_episodes"})
        return sums, sick_episodes


def _codes(known: dict, values: pd.Series) -> np.ndarray:
    """Integer codes of ``values``, new ones added to ``known`` (value -> code)."""
    codes, uniques = pd.factorize(values)
    mapping = np.fromiter((known.setdefault(value, len(known)) for value in uniques),
                          dtype=np.int64, count=len(uniques))
    return mapping[codes]


@dataclass
class Touched:
    """What an import changed, for the KPI refresh."""

    team_weeks: set[tuple[int, int]] = field(default_factory=set)
    # (team_id, first_week, last_week or None) of staff periods, old and new.
    staff_ranges: set[tuple[int, int, int | None]] = field(default_factory=set)
    # employee_id -> earliest date (ISO) touched, for the sick episodes that follow.
    employees: dict[str, str] = field(default_factory=dict)
    # Every visit of the table when this import wrote them all (a first load); else None,
    # and the refresh reads them from the table.
    visits: VisitsInHand | None = None
    # Likewise every hours row of the table, or None.
    hours: HoursInHand | None = None

    def add_employees(self, frame: pd.DataFrame) -> None:
        """``frame`` has columns employee_id and date (ISO text)."""
        if frame.empty:
            return
        first = frame.dropna(subset=["employee_id"]).groupby("employee_id")["date"].min()
        for employee, date in first.items():
            known = self.employees.get(employee)
            if known is None or date < known:
                self.employees[employee] = date


class Writer:
    """Writes one import command's chunks; one instance per command (one transaction)."""

    def __init__(self, session: Session):
        self.session = session
        self.touched = Touched()
        self.teams_created: list[str] = []
        # SQLite file: shadow tables now, everything else in the final transaction (finish).
        self.shadow = session.info.get("shadow")
        self._final = self.shadow is None
        self._deferred: list[tuple[str, pd.DataFrame | None]] = []  # (kind, chunk or None: a file)
        self.ready = None  # storage.kpi_refresh.Ready, read before the final transaction
        self._planned_teams: list[Team] = []
        if self.shadow is not None:
            self.connection: Connection | None = None  # the session's, from ``finish``
            self._team_ids: dict[str, int] = dict(self.shadow.read("SELECT code, id FROM teams"))
            self._next_team_id = (self.shadow.read("SELECT MAX(id) FROM teams")[0][0] or 0) + 1
            self._empty = {table: not self.shadow.read(f"SELECT 1 FROM {table} LIMIT 1")
                           for table in ("visits", "hours")}
            self._files_written: dict[str, int] = {}
            self._visits = VisitsInHand(self._team_ids) if self._empty["visits"] else None
            self._hours = HoursInHand(self._team_ids) if self._empty["hours"] else None
            self._suspended: dict[str, SuspendedIndexes] = {}
            self._cache_size = None
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="teampuls-writer")
            self._pending: Future | None = None
            return
        self.connection = session.connection()
        self._team_ids = dict(session.execute(select(Team.code, Team.id)).all())
        # A table that was empty when the command began cannot hold rows that the first file
        # of its kind replaces, so that file's chunks skip the replacement step.
        self._empty = {
            table: self.connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is None
            for table in ("visits", "hours")
        }
        self._files_written = {}
        self._visits = VisitsInHand(self._team_ids) if self._empty["visits"] else None
        self._hours = HoursInHand(self._team_ids) if self._empty["hours"] else None
        self._suspended = {table: SuspendedIndexes(self.connection, Base.metadata.tables[table])
                           for table, empty in self._empty.items() if empty}
        for table in _STAGES:
            staging.create(self.connection, table)
        self._cache_size = None
        if self.connection.dialect.name == "sqlite":  # a page cache that holds the indexes being appended to
            self._cache_size = self.connection.exec_driver_sql("PRAGMA cache_size").scalar()
            self.connection.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="teampuls-writer")
        self._pending: Future | None = None

    def wait(self) -> None:
        """Block until every chunk handed to ``write`` is written; raise what writing raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def finish(self) -> None:
        """Wait until every chunk is written (raising what writing raised), and hand what is in
        hand to ``touched``."""
        self.wait()
        if self._visits is not None and self._files_written.get("visits"):
            self.touched.visits = self._visits
        if self._hours is not None and self._files_written.get("hours"):
            self.touched.hours = self._hours
        if not self._final:
            self._read_ahead()
            self._write_final()

    def _read_ahead(self) -> None:
        """What the KPI refresh reads from visits and hours, read now from the shadows (what the
        final transaction swaps in) in a transaction that only reads: the final one then holds
        the write lock without reading millions of rows (``storage.kpi_refresh.Ready``)."""
        from storage.kpi_refresh import read_ahead

        if self.touched.visits is not None and self.touched.hours is not None:
            return  # every row is in hand
        connection = self.shadow.connection
        connection.execution_options(sqlite_begin="DEFERRED")
        try:
            with connection.begin():
                self.ready = read_ahead(connection, self.touched, self._table("visits"),
                                        self._table("hours"))
        finally:
            connection.execution_options(sqlite_begin="IMMEDIATE")

    def _write_final(self) -> None:
        """The final transaction (SQLite file): sum the rows in hand, then begin the session's
        transaction, create the new teams, swap the shadows in and write the chunks kept."""
        for in_hand in (self.touched.visits, self.touched.hours):
            if in_hand is not None:
                in_hand.sums()  # kept for the refresh, which runs inside the transaction
        self._final = True
        self.connection = self.session.connection()  # BEGIN IMMEDIATE: waits for the lock
        if self._planned_teams and self.connection.execute(text(
                "SELECT 1 FROM teams WHERE id >= :first LIMIT 1"),
                {"first": self._planned_teams[0].id}).first() is not None:
            raise TeamsAdded("a team was added while the import ran, so the import's new "
                             "teams cannot take their numbers; nothing was imported")
        self.session.add_all(self._planned_teams)
        self.session.flush()
        self.shadow.swap(self.connection)
        for table in _STAGES:
            staging.create(self.connection, table)
        self._cache_size = self.connection.exec_driver_sql("PRAGMA cache_size").scalar()
        self.connection.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        deferred, self._deferred = self._deferred, []
        for kind, frame in deferred:
            if frame is None:
                self._pairs_done = set()
            else:
                getattr(self, f"_write_{kind}")(frame)

    def restore_indexes(self) -> Future:
        """Build the suspended indexes again on the writing thread; the connection is that
        thread's until the returned future is done (``close`` waits for it too)."""
        self.wait()
        suspended = list(self._suspended.values())
        self._pending = self._worker.submit(lambda: [s.restore() for s in suspended])
        return self._pending

    def close(self) -> None:
        """Finish writing and building indexes (raising what that raised) and drop the staging
        tables."""
        try:
            self.finish()
        finally:
            self._worker.shutdown()
        for suspended in self._suspended.values():
            suspended.restore()
        for table in _STAGES:
            staging.drop(self.connection, table)
        if self._cache_size is not None:  # the connection goes back to the pool as it came
            self.connection.exec_driver_sql(f"PRAGMA cache_size={int(self._cache_size)}")

    def discard(self) -> None:
        """Let the work in flight finish, after another error (or refused rows): the caller
        rolls back, which takes the staging tables and the dropped indexes back too."""
        pending, self._pending = self._pending, None
        self._worker.shutdown()
        if pending is not None and pending.exception() is not None:
            _log.error("writing failed too: %r", pending.exception())
        if self._cache_size is not None:
            self.connection.exec_driver_sql(f"PRAGMA cache_size={int(self._cache_size)}")

    def start_file(self, kind: str) -> None:
        self.wait()
        self._files_written[kind] = self._files_written.get(kind, 0) + 1
        if not self._final:
            self._deferred.append((kind, None))
        if kind in self._suspended and self._files_written[kind] > 1:
            self._suspended[kind].restore()  # the next file replaces rows: look-ups need them
        if kind == "visits" and self._files_written[kind] > 1:
            self._visits = None  # it may replace visits in hand: the refresh reads the table
        if kind == "hours" and self._files_written[kind] > 1:
            self._hours = None
        self._pairs_done: set[tuple[int, int]] = set()
        if not self._final and kind in shadow_tables.TABLES and kind not in self.shadow.tables:
            # The complete new table is built in its shadow: the rows it holds now, then the
            # files' chunks, in short transactions (storage.shadow).
            self.shadow.create(kind)
            with self.shadow.transaction() as connection:
                for table in (staging.STAGE_VISITS, staging.STAGE_PAIRS):
                    staging.create(connection, table)

    def _may_replace(self, table: str) -> bool:
        return not self._empty[table] or self._files_written.get(table, 0) > 1

    # -- teams --------------------------------------------------------------------------------

    def team_ids(self, codes: pd.Series) -> np.ndarray:
        positions, distinct = pd.factorize(codes)
        for code in distinct:
            if code not in self._team_ids:
                if self._final:
                    team = Team(code=code, name=code)
                    self.session.add(team)
                    self.session.flush()
                else:  # written into a shadow: the final transaction creates the team
                    team = Team(id=self._next_team_id, code=code, name=code)
                    self._next_team_id += 1
                    self._planned_teams.append(team)
                self._team_ids[code] = team.id
                self.teams_created.append(code)
        return np.array([self._team_ids[code] for code in distinct], dtype=np.int64)[positions]

    def _stage(self, table, frame: pd.DataFrame) -> None:
        self.connection.execute(table.delete())
        insert_frame(self.connection, table.name, frame)

    # -- kinds --------------------------------------------------------------------------------

    def write(self, kind: str, frame: pd.DataFrame) -> None:
        """Hand a checked chunk to the worker; the previous chunk is written first."""
        if kind == "visits" and self._visits is not None:
            self._visits.add(frame)  # while the previous chunk is being written
        if kind == "hours" and self._hours is not None:
            self._hours.add(frame)
        self.wait()
        if not self._final:
            if kind not in self.shadow.tables:
                self._deferred.append((kind, frame))  # written in the final transaction
                return
            self._pending = self._worker.submit(self._write_shadow, kind, frame)
            return
        self._pending = self._worker.submit(getattr(self, f"_write_{kind}"), frame)

    def _write_shadow(self, kind: str, frame: pd.DataFrame) -> None:
        """A chunk into the shadow of its table, in batches that each hold the lock briefly."""
        batches = self.shadow.batches
        start = 0
        while start < len(frame):
            began = time.perf_counter()
            batch = frame.iloc[start:start + batches.size].reset_index(drop=True)
            with self.shadow.transaction() as connection:
                self.connection = connection
                try:
                    getattr(self, f"_write_{kind}")(batch)
                finally:
                    self.connection = None
            start += len(batch)
            batches.took(len(batch), time.perf_counter() - began)

    def _table(self, table: str) -> str:
        """The table that ``table``'s rows are written to now: its shadow before the swap."""
        return shadow_tables.shadow_of(table) \
            if not self._final and table in self.shadow.tables else table

    def _insert(self, table: str, rows: pd.DataFrame) -> None:
        insert_frame(self.connection, self._table(table), rows)

    def _write_visits(self, frame: pd.DataFrame) -> None:
        rows = pd.DataFrame({
            "visit_id": frame["visit_id"], "team_id": self.team_ids(frame["team"]),
            "citizen_ref": frame["citizen_ref"], "employee_id": frame["employee_id"],
            "date": iso_dates(frame["date"]), "week": weeks_of(frame["date"]),
            "minutes": frame["minutes"].astype(np.int64), "status": frame["status"],
        })
        touched = set(rows[["team_id", "week"]].drop_duplicates().itertuples(index=False, name=None))
        if self._may_replace("visits"):
            self._stage(staging.STAGE_VISITS, rows)
            visits = self._table("visits")
            # The staged rows drive every look-up (SQLite takes CROSS JOIN's order as it is
            # written): a batch's cost is its own size, not the table's.
            touched.update(tuple(row) for row in self.connection.execute(text(
                f"SELECT DISTINCT v.team_id, v.week FROM stage_visits s CROSS JOIN {visits} v "
                "WHERE v.visit_id = s.visit_id")))
            self.connection.execute(text(
                f"DELETE FROM {visits} WHERE visit_id IN (SELECT visit_id FROM stage_visits)"))
            self.connection.execute(text(
                f"INSERT INTO {visits} (visit_id, team_id, citizen_ref, employee_id, date, week, "
                "minutes, status) SELECT visit_id, team_id, citizen_ref, employee_id, date, week, "
                "minutes, status FROM stage_visits"))
        else:
            self._insert("visits", rows)
        # Continuity of week W looks at weeks W-1 and W, so W+1 changes too.
        self.touched.team_weeks.update(touched)
        self.touched.team_weeks.update((team, week + 1) for team, week in touched)

    def _write_hours(self, frame: pd.DataFrame) -> None:
        rows = pd.DataFrame({
            "team_id": self.team_ids(frame["team"]), "date": iso_dates(frame["date"]),
            "week": weeks_of(frame["date"]), "employee_id": frame["employee_id"],
            "kind": frame["kind"], "hours": frame["hours"], "profession": frame["profession"],
        })
        pairs = rows[["team_id", "date", "week"]].drop_duplicates()
        keys = list(zip(pairs["team_id"].tolist(), frame.loc[pairs.index, "date"].tolist()))
        new = pairs[[key not in self._pairs_done for key in keys]]
        self._pairs_done.update(keys)
        if self._may_replace("hours") and not new.empty:
            self._stage(staging.STAGE_PAIRS, new[["team_id", "date"]])
            hours = self._table("hours")
            replaced = pd.DataFrame(self.connection.execute(text(
                f"SELECT h.employee_id, MIN(h.date) AS date FROM stage_pairs p "
                f"CROSS JOIN {hours} h WHERE p.team_id = h.team_id AND p.date = h.date "
                "AND h.employee_id IS NOT NULL GROUP BY h.employee_id")).all(),
                columns=["employee_id", "date"])
            self.touched.add_employees(replaced.astype({"date": str}))
            self.connection.execute(text(
                f"DELETE FROM {hours} WHERE id IN (SELECT h.id FROM stage_pairs p "
                f"CROSS JOIN {hours} h WHERE h.team_id = p.team_id AND h.date = p.date)"))
        self._insert("hours", rows)
        self.touched.add_employees(rows[["employee_id", "date"]])
        self.touched.team_weeks.update(
            new[["team_id", "week"]].drop_duplicates().itertuples(index=False, name=None))

    def _write_staff(self, frame: pd.DataFrame) -> None:
        end = frame["end_date"].astype(np.int64)  # 0: no end date
        rows = pd.DataFrame({
            "employee_id": frame["employee_id"], "start_date": iso_dates(frame["start_date"]),
            "team_id": self.team_ids(frame["team"]), "profession": frame["profession"],
            "contracted_hours": frame["contracted_hours"], "end_date": iso_dates(end),
            "start_week": weeks_of(frame["start_date"]),
            "end_week": pd.Series(np.where(end > 0, weeks_of(end), None), dtype=object),
        })
        self._stage(staging.STAGE_STAFF, rows)
        ranges = self.connection.execute(text(
            "SELECT f.team_id, f.start_week, f.end_week FROM staff f JOIN stage_staff s "
            "ON s.employee_id = f.employee_id AND s.start_date = f.start_date")).all()
        self.connection.execute(text(
            "DELETE FROM staff WHERE EXISTS (SELECT 1 FROM stage_staff s "
            "WHERE s.employee_id = staff.employee_id AND s.start_date = staff.start_date)"))
        self.connection.execute(text(
            "INSERT INTO staff (employee_id, start_date, team_id, profession, contracted_hours, "
            "end_date, start_week, end_week) SELECT employee_id, start_date, team_id, profession, "
            "contracted_hours, end_date, start_week, end_week FROM stage_staff"))
        self.touched.staff_ranges.update(tuple(r) for r in ranges)
        self.touched.staff_ranges.update(
            rows[["team_id", "start_week", "end_week"]].itertuples(index=False, name=None))

    def _write_norms(self, frame: pd.DataFrame) -> None:
        rows = pd.DataFrame({
            "team_id": self.team_ids(frame["team"]), "profession": frame["profession"],
            "valid_from": iso_dates(frame["valid_from"]), "hours_per_week": frame["hours_per_week"],
        })
        self._stage(staging.STAGE_NORMS, rows)
        self.connection.execute(text(
            "DELETE FROM norms WHERE EXISTS (SELECT 1 FROM stage_norms s WHERE s.team_id = "
            "norms.team_id AND s.profession = norms.profession AND s.valid_from = norms.valid_from)"))
        self.connection.execute(text(
            "INSERT INTO norms (team_id, profession, valid_from, hours_per_week) "
            "SELECT team_id, profession, valid_from, hours_per_week FROM stage_norms"))


KEYS = {
    "staff": ("employee_id", "start_date"),
    "hours": None,
    "visits": ("visit_id",),
    "norms": ("team", "profession", "valid_from"),
}


class DuplicateKeys:
    """Finds rows of one file that repeat an earlier row's key, across chunks, in bounded memory:
    a sorted array of the 64-bit hashes of the keys seen so far, beside the line of each.

    The hashes are Python's own (``hash`` of the value, or of the tuple of values): four times
    faster than pandas' hashing of text, and only ever compared within one process."""

    def __init__(self, kind: str):
        self.columns = KEYS[kind]
        self._hashes = np.empty(0, dtype=np.int64)
        self._lines = np.empty(0, dtype=np.int64)

    def check(self, frame: pd.DataFrame) -> np.ndarray:
        """Line numbers of earlier rows that each row repeats (0 where the key is new)."""
        if self.columns is None or frame.empty:
            return np.zeros(len(frame), dtype=np.int64)
        hashes = _key_hashes(frame, self.columns)
        lines = frame["line"].to_numpy(dtype=np.int64)
        # Within the chunk: every row after the first of its key repeats that first row.
        unique, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        earlier = lines[first][inverse]
        earlier[first] = 0
        # Across chunks: a key seen in an earlier chunk repeats the line kept for it.
        at = np.searchsorted(self._hashes, unique)
        seen = at < len(self._hashes)
        seen[seen] = self._hashes[at[seen]] == unique[seen]
        line_before = np.zeros(len(unique), dtype=np.int64)
        line_before[seen] = self._lines[at[seen]]
        earlier = np.where(line_before[inverse] > 0, line_before[inverse], earlier)
        new = ~seen
        self._hashes = np.insert(self._hashes, at[new], unique[new])
        self._lines = np.insert(self._lines, at[new], lines[first[new]])
        return earlier


def _key_hashes(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    values = [frame[c].tolist() for c in columns]
    keys = values[0] if len(values) == 1 else zip(*values)
    return np.fromiter(map(hash, keys), dtype=np.int64, count=len(frame))
