"""Writes on SQLite (issue 17): a transaction that may write begins IMMEDIATE, the bot's writes
succeed while an import runs, an import stays all-or-nothing, erased bytes leave the file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest
from sqlalchemy import func, select, text

from commands.context import Request
from commands.dispatch import answer, interaction_context, on_form
from storage.database import bulk_load
from storage.demo_exports import DemoShape, generate
from storage.importers.runner import ImportRefused, run_import
from storage.models import FollowUp, Goal, Team, Visit
from storage.teams import TeamChanges, add_team, set_channel_members
from tests.conftest import NOW

pytestmark = pytest.mark.skipif("sqlite" not in __import__("os").environ.get(
    "DATABASE_URL", "sqlite"), reason="SQLite's locking")

CHANNEL = "CWRITE01"
USERS = [f"UW{i:03d}" for i in range(6)]


def _path(edge) -> str:
    return edge.engine.url.database


def _other_writer(edge) -> sqlite3.Connection:
    """A connection that does not wait for the lock (busy timeout 0)."""
    return sqlite3.connect(_path(edge), timeout=0, isolation_level=None)


def _checkpoint(edge) -> None:
    """Copy the write-ahead log into the database file (outside any transaction)."""
    connection = sqlite3.connect(_path(edge), isolation_level=None)
    busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    connection.close()
    assert busy == 0


def _team(edge) -> int:
    with edge.sessions.begin() as session:
        team = add_team(session, "WRITE", TeamChanges(name="Write", add_channels=(CHANNEL,)))
        set_channel_members(session, CHANNEL, USERS)
        return team.id


def _exports(tmp_path, teams: int = 3, n_weeks: int = 6):
    folder = tmp_path / "exports"
    generate(dt.date(2026, 11, 16), DemoShape(teams=teams, weeks=n_weeks)).write(folder)
    return [(folder / f"{kind}.csv", None) for kind in ("staff", "hours", "visits", "norms")]


def _goal(edge, team_id: int, user: str, n: int) -> None:
    """A goal form submitted, as ``bot.app.Bot.form`` saves it."""
    values = {"citizen_ref": f"B-{n:05d}", "what_matters": "the bakery",
              "goal": f"walks there, goal {n}", "follow_up_by": user,
              "reassess_on": (NOW.date() + dt.timedelta(days=30)).isoformat()}
    with edge.sessions.begin() as session:
        ctx = interaction_context(session, user, CHANNEL, now=NOW, default_language="en",
                                  team_id=team_id)
        reply = on_form("goal", f"team={team_id};channel={CHANNEL}", values, ctx)
    assert not reply.error, reply.text


def _follow_up(edge, user: str, n: int) -> None:
    """``/followup add``, as ``bot.app.Bot.command`` answers it."""
    due = NOW.date() + dt.timedelta(days=7)
    with edge.sessions.begin() as session:
        reply = answer(Request("/followup", f"add B-{n:05d} <@{user}> {due.day}.{due.month} "
                               "call the daughter", user, CHANNEL, None), session, now=NOW,
                       default_language="en", admins=frozenset())
    assert not reply.error, reply.text


def _state(edge) -> dict:
    with edge.reads.begin() as session:
        tables = session.execute(text(
            "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name")).all()
        return {"schema": tables,
                "teams": session.execute(select(Team.code).order_by(Team.id)).scalars().all(),
                "visits": session.scalar(select(func.count()).select_from(Visit)),
                "hours": session.scalar(text("SELECT COUNT(*) FROM hours")),
                "kpis": session.scalar(text("SELECT COUNT(*) FROM kpi_values"))}


def test_secure_delete_overwrites_what_is_deleted(edge):
    marker = "ZQXJ-erase-me-7731-ZQXJ"
    with edge.sessions.begin() as session:
        assert session.scalar(text("PRAGMA secure_delete")) == 1
        session.add(Team(code="ERASE", name=marker))
    _checkpoint(edge)
    with open(_path(edge), "rb") as file:
        assert marker.encode() in file.read()  # the test can see the bytes it looks for
    with edge.sessions.begin() as session:
        session.execute(text("DELETE FROM teams WHERE code = 'ERASE'"))
    _checkpoint(edge)
    with open(_path(edge), "rb") as file:
        assert marker.encode() not in file.read()


def test_a_transaction_that_reads_then_writes_holds_the_lock_from_its_start(edge):
    other = _other_writer(edge)
    with edge.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0  # read first
        # Today's deferred BEGIN let another connection write here, and the write below then
        # failed at once with "database is locked"; now the other connection waits instead.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO teams (code, name) VALUES ('OTHER', 'Other')")
        session.add(Team(code="MINE", name="Mine"))
    other.execute("INSERT INTO teams (code, name) VALUES ('OTHER', 'Other')")
    other.close()
    assert _state(edge)["teams"] == ["MINE", "OTHER"]


def test_a_read_only_transaction_leaves_the_lock_to_writers(edge):
    other = _other_writer(edge)
    with edge.reads.begin() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0
        other.execute("INSERT INTO teams (code, name) VALUES ('OTHER', 'Other')")
    other.close()


def test_the_bots_writes_succeed_while_an_import_runs(edge, tmp_path):
    team_id = _team(edge)
    files = _exports(tmp_path)
    importing, writes_done = threading.Event(), threading.Event()
    outcome: dict = {}

    def progress(_done: int, _total: int) -> None:
        if not importing.is_set():  # mid-import: the first chunk is being written
            importing.set()
            writes_done.wait(120)

    def run() -> None:
        try:
            with bulk_load(edge.sessions) as session:
                outcome["result"] = run_import(session, files, max_bytes=1 << 30,
                                               progress=progress)
        except BaseException as error:  # noqa: BLE001 - asserted below
            outcome["error"] = error
        finally:
            importing.set()

    importer = threading.Thread(target=run)
    importer.start()
    assert importing.wait(120)
    start = threading.Barrier(len(USERS))
    failures: list[BaseException] = []

    def write(index: int) -> None:
        start.wait()
        try:
            (_goal(edge, team_id, USERS[index], index) if index % 2
             else _follow_up(edge, USERS[index], index))
        except BaseException as error:  # noqa: BLE001 - asserted below
            failures.append(error)

    writers = [threading.Thread(target=write, args=(i,)) for i in range(len(USERS))]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    writes_done.set()
    importer.join()
    assert failures == []
    assert "error" not in outcome, outcome.get("error")
    with edge.reads.begin() as session:
        assert session.scalar(select(func.count()).select_from(Goal)) == len(USERS) // 2
        # each goal has a follow-up of its own, besides the ones added with /followup
        assert session.scalar(select(func.count()).select_from(FollowUp)) == len(USERS)
    visits = sum(1 for _ in files[2][0].open()) - 1
    assert _state(edge)["visits"] == visits == outcome["result"].rows["visits"]


def test_an_import_refused_after_chunks_were_staged_changes_nothing(edge, tmp_path):
    _team(edge)
    before = _state(edge)
    files = _exports(tmp_path, teams=6, n_weeks=60)
    visits = files[2][0]
    lines = visits.read_text().splitlines()
    assert len(lines) > 150_000  # more than one chunk: the first ones are staged
    lines[-1] = lines[-1].replace("delivered", "teleported").replace("cancelled", "teleported")
    visits.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRefused):
        with bulk_load(edge.sessions) as session:
            run_import(session, files, max_bytes=1 << 30)
    assert _state(edge) == before


def test_an_import_that_fails_in_its_final_transaction_changes_nothing(edge, tmp_path):
    _team(edge)
    files = _exports(tmp_path)
    added = threading.Event()

    def progress(_done: int, _total: int) -> None:
        if not added.is_set():  # another team is added while the import runs
            added.set()
            with edge.sessions.begin() as session:
                add_team(session, "LATE", TeamChanges(name="Late"))

    before = None
    with pytest.raises(Exception, match="team was added"):
        with bulk_load(edge.sessions) as session:
            run_import(session, files, max_bytes=1 << 30, progress=progress)
    before = _state(edge)
    assert before["teams"] == ["WRITE", "LATE"]
    assert before["visits"] == before["hours"] == before["kpis"] == 0
    assert not [name for _, name in before["schema"] if name.endswith("__import")]
    assert ("index", "ix_visits_team_week") in before["schema"]
    # and the next import goes through
    with bulk_load(edge.sessions) as session:
        run_import(session, files, max_bytes=1 << 30)
    assert _state(edge)["visits"] > 0


def test_an_import_runs_again_by_itself_when_a_team_is_added_meanwhile(edge, tmp_path):
    """The bot (an admin's `/teampuls admin link new`) adds a team while an import that creates
    teams runs: the import's planned numbers are taken, so it runs again and goes through."""
    from storage.importers.runner import import_files

    _team(edge)
    files = _exports(tmp_path)
    added = threading.Event()

    def progress(_done: int, _total: int) -> None:
        if not added.is_set():
            added.set()
            with edge.sessions.begin() as session:
                add_team(session, "LATE", TeamChanges(name="Late"))

    result = import_files(edge.sessions, files, max_bytes=1 << 30, progress=progress)
    state = _state(edge)
    assert state["teams"][:2] == ["WRITE", "LATE"] and len(state["teams"]) > 2
    assert sorted(result.teams_created) == sorted(state["teams"][2:])
    assert state["visits"] > 0 and state["kpis"] > 0


def _import(edge, files, progress=None):
    with bulk_load(edge.sessions) as session:
        return run_import(session, files, max_bytes=1 << 30, progress=progress)


def _changed(tmp_path, files):
    """A second export: some visits changed and one new, and the hours of some (team, date)
    pairs given again with other figures and fewer rows. Returns its files and the pairs."""
    import pandas as pd

    folder = tmp_path / "again"
    folder.mkdir()
    visits = pd.read_csv(files[2][0], dtype=str)
    changed = visits.iloc[::7].copy()
    changed["minutes"] = "47"
    changed["status"] = "cancelled"
    new = visits.iloc[:1].assign(visit_id="NEW-VISIT-1")
    pd.concat([changed, new]).to_csv(folder / "visits.csv", index=False)
    hours = pd.read_csv(files[1][0], dtype=str)
    pairs = hours[["team", "date"]].drop_duplicates().iloc[::5]
    again = hours.merge(pairs, on=["team", "date"]).groupby(["team", "date"]).head(1)
    again = again.assign(hours="3.25")
    again.to_csv(folder / "hours.csv", index=False)
    return [(folder / "visits.csv", "visits"), (folder / "hours.csv", "hours")], changed, again


def _table(edge, sql: str) -> list[tuple]:
    with edge.reads.begin() as session:
        return sorted(tuple(row) for row in session.execute(text(sql)).all())


def test_an_import_into_populated_tables_builds_them_anew_before_a_short_swap(edge, tmp_path):
    from storage.kpi_refresh import refresh_team_weeks

    _team(edge)
    files = _exports(tmp_path)
    _import(edge, files)
    visits_before = _table(edge, "SELECT visit_id, minutes, status FROM visits")
    hours_before = _table(edge, "SELECT t.code, h.date, h.hours FROM hours h "
                                "JOIN teams t ON t.id = h.team_id")
    again, changed, hours_again = _changed(tmp_path, files)
    seen: dict = {}

    def progress(done: int, total: int) -> None:
        if done == total and "shadow" not in seen:  # every chunk handed to the writer
            reader = sqlite3.connect(_path(edge), isolation_level=None)
            seen["shadow"] = reader.execute(
                "SELECT name FROM sqlite_schema WHERE name LIKE '%__import'").fetchall()
            seen["live indexes"] = reader.execute(
                "SELECT tbl_name, name FROM sqlite_schema WHERE type = 'index' "
                "AND tbl_name IN ('visits', 'hours') AND name NOT LIKE 'sqlite_%'").fetchall()
            seen["plans"] = [" ".join(row[-1] for row in reader.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE team_id = 1 AND week = 5"))
                for table in ("visits", "hours")]
            reader.close()

    result = _import(edge, again, progress)
    assert result.rows == {"visits": len(changed) + 1, "hours": len(hours_again)}
    # Before the final transaction the new tables were already being built (today the rows
    # waited in memory and were all written while the final transaction held the lock).
    assert {name for (name,) in seen["shadow"]} == {"visits__import", "hours__import"}
    # Meanwhile the live tables kept their indexes: /capacity reads them by team and week.
    from storage.models import Base
    from storage.shadow import model_index_name

    assert sorted((table, model_index_name(name)) for table, name in seen["live indexes"]) == \
        sorted((table, index.name) for table in ("visits", "hours")
               for index in Base.metadata.tables[table].indexes)
    assert all("USING INDEX" in plan for plan in seen["plans"]), seen["plans"]

    expected = {visit_id: (visit_id, minutes, status) for visit_id, minutes, status in visits_before}
    for row in changed.itertuples():
        expected[row.visit_id] = (row.visit_id, 47, "cancelled")
    got = _table(edge, "SELECT visit_id, minutes, status FROM visits")
    new_visit = [row for row in got if row[0] == "NEW-VISIT-1"]
    assert len(new_visit) == 1
    expected["NEW-VISIT-1"] = new_visit[0]
    assert got == sorted(expected.values())

    replaced = set(zip(hours_again["team"], hours_again["date"]))
    kept = [row for row in hours_before if (row[0], str(row[1])) not in replaced]
    assert _table(edge, "SELECT t.code, h.date, h.hours FROM hours h JOIN teams t "
                        "ON t.id = h.team_id") == sorted(
        kept + [(t, d, 3.25) for t, d in zip(hours_again["team"], hours_again["date"])])

    state = _state(edge)
    assert not [name for _, name in state["schema"] if "__" in name]  # no shadow, no old table
    assert ("index", "ix_visits_team_week") in state["schema"]
    assert ("index", "ix_hours_employee_date") in state["schema"]
    # The KPI values are those of the tables as they are now.
    kpis = _table(edge, "SELECT team_id, week, kpi, value FROM kpi_values")
    with edge.sessions.begin() as session:
        targets = {tuple(r) for r in session.execute(text(
            "SELECT team_id, week FROM hours UNION SELECT team_id, week FROM visits")).all()}
        refresh_team_weeks(session.connection(), targets)
    assert _table(edge, "SELECT team_id, week, kpi, value FROM kpi_values") == kpis


def test_a_refused_import_into_populated_tables_changes_nothing(edge, tmp_path):
    _team(edge)
    files = _exports(tmp_path)
    _import(edge, files)
    before = _state(edge)
    visits_before = _table(edge, "SELECT * FROM visits")
    again, _, _ = _changed(tmp_path, files)
    lines = again[0][0].read_text().splitlines()
    lines[-1] = lines[-1].replace("delivered", "teleported").replace("cancelled", "teleported")
    again[0][0].write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRefused):
        _import(edge, list(reversed(again)))  # hours first: its shadow is built, then refused
    assert _state(edge) == before
    assert _table(edge, "SELECT * FROM visits") == visits_before


def test_a_long_writer_lets_every_waiting_writer_in_between_its_transactions(edge):
    from storage.database import begin_immediate, let_waiters_in

    _team(edge)
    importer = sqlite3.connect(_path(edge), isolation_level=None)
    begin_immediate(importer, _path(edge))
    began = threading.Event()

    def bot_write() -> None:
        _follow_up(edge, USERS[0], 1)
        began.set()

    waiting = _path(edge) + "-waiting.lock"
    writer = threading.Thread(target=bot_write)
    writer.start()
    import fcntl
    import os
    import time

    # The writer says it waits (a shared lock on the waiting file) once BEGIN found the lock
    # taken: wait for that, without sleeping blindly.
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline
        if os.path.exists(waiting):
            with open(waiting, "a+b") as probe:
                try:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    break
        time.sleep(0.001)
    importer.execute("COMMIT")
    let_waiters_in(_path(edge))
    # The waiting writer went first: SQLite's own busy handler would still be asleep, and the
    # long writer's next transaction would have taken the lock again before it.
    begin_immediate(importer, _path(edge))
    assert importer.execute("SELECT COUNT(*) FROM follow_ups").fetchone()[0] == 1
    importer.execute("COMMIT")
    writer.join()
    assert began.is_set()
    importer.close()


def test_a_failed_cleanup_does_not_hide_why_the_import_was_refused(edge, tmp_path, caplog):
    """The import is refused (a bad row), and removing its shadow fails too: the user still
    gets the refusal with its rows' errors, the log says which error the cleanup met, and
    what is left goes with the next one who takes the import lock."""
    from storage.shadow import clear_leftovers, import_turn

    _team(edge)
    files = _exports(tmp_path)
    _import(edge, files)
    visits_before = _table(edge, "SELECT * FROM visits")
    again, _, _ = _changed(tmp_path, files)
    lines = again[0][0].read_text().splitlines()
    lines[-1] = lines[-1].replace("delivered", "teleported").replace("cancelled", "teleported")
    again[0][0].write_text("\n".join(lines) + "\n")

    def progress(_done: int, _total: int) -> None:
        writer = sqlite3.connect(_path(edge), isolation_level=None)
        writer.execute("CREATE TRIGGER IF NOT EXISTS no_purge BEFORE DELETE ON visits__import "
                       "BEGIN SELECT RAISE(ABORT, 'database is locked'); END")
        writer.close()

    with pytest.raises(ImportRefused) as refused:
        _import(edge, again, progress)
    assert "teleported" in " ".join(map(str, refused.value.errors))
    assert "IntegrityError" in caplog.text
    writer = sqlite3.connect(_path(edge), isolation_level=None)
    writer.execute("DROP TRIGGER no_purge")
    writer.close()
    with import_turn(edge.engine):
        clear_leftovers(edge.engine)
    assert not [name for _, name in _state(edge)["schema"] if "__" in name]
    assert _table(edge, "SELECT * FROM visits") == visits_before
