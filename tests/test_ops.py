"""Operations: the health check, metrics, JSON logs, backups and the export folder's watcher."""

from __future__ import annotations

import io
import logging
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.health import HealthCheck, database_check
from bot.server import wsgi_app
from storage.database import make_engine


def _get(application, path: str) -> tuple[str, dict, bytes]:
    seen: dict = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(application({"PATH_INFO": path, "REQUEST_METHOD": "GET",
                                 "wsgi.input": io.BytesIO()}, start_response))
    return seen["status"], seen["headers"], body


def _unreachable(database_url: str, tmp_path) -> str:
    """A database of the same kind that is not there."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'teampuls.db'}"
    return "postgresql://root@127.0.0.1:1/test"  # nothing listens on port 1


# -- /healthz -----------------------------------------------------------------------------------

def test_healthz_answers_ok_while_the_database_answers_and_503_when_it_does_not(
        edge, tmp_path, caplog):
    healthy = HealthCheck(database_check(edge.engine))
    status, _, body = _get(wsgi_app(None, "secret", health=healthy), "/healthz")
    assert (status, body) == ("200 OK", b"ok\n")

    gone = make_engine(_unreachable(edge.settings.database_url, tmp_path))
    broken = HealthCheck(database_check(gone))
    with caplog.at_level(logging.WARNING, logger="bot.health"):
        status, _, body = _get(wsgi_app(None, "secret", health=broken), "/healthz")
    gone.dispose()
    assert status == "503 Service Unavailable"
    assert body.startswith(b"unhealthy: the database did not answer: ")
    assert b"OperationalError" in body
    lines = [r for r in caplog.records if r.name == "bot.health"]
    assert len(lines) == 1 and "OperationalError" in lines[0].getMessage()
    assert "127.0.0.1" not in lines[0].getMessage() and "no-such-folder" not in body.decode()
    healthy.close()
    broken.close()


def test_healthz_and_metrics_answer_while_a_writer_holds_sqlites_lock(edge):
    """A health probe or a scrape only reads: an import's final transaction (or any writer)
    holding SQLite's write lock must not make the bot look dead."""
    from bot.prometheus import exposition

    if edge.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    edge.engine.dispose()
    with edge.engine.connect() as writer:  # BEGIN IMMEDIATE: holds the write lock
        writer.execute(text("UPDATE kpi_version SET version = version"))
        check = HealthCheck(database_check(edge.engine), timeout=1.0)
        try:
            status, _, body = _get(wsgi_app(None, "secret", health=check), "/healthz")
        finally:
            check.close()
        assert (status, body) == ("200 OK", b"ok\n")
        status, _, body = _get(wsgi_app(None, "secret", metrics=exposition(edge.engine)),
                               "/metrics")
        assert status == "200 OK" and b"teampuls_database_up 1.0" in body
        writer.rollback()


def test_a_database_that_hangs_fails_the_check_after_the_timeout_without_piling_up():
    release = threading.Event()
    calls = []

    def hangs() -> None:
        calls.append(1)
        release.wait(30)

    check = HealthCheck(hangs, timeout=0.05)
    application = wsgi_app(None, "secret", health=check)
    try:
        status, _, body = _get(application, "/healthz")
        assert status == "503 Service Unavailable" and b"within 0.05 s" in body
        status, _, body = _get(application, "/healthz")  # the first still hangs
        assert status == "503 Service Unavailable" and b"has not come back" in body
        assert len(calls) == 1
    finally:
        release.set()
        check._pool.shutdown(wait=True)


# -- teampuls db backup / restore / downgrade ---------------------------------------------------

FILES = ("staff", "hours", "visits", "norms")


def _sqlite_only(edge) -> None:
    if edge.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's backup; PostgreSQL has pg_dump (tested below)")


def _count(url: str, table: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return value


def test_a_backup_taken_while_a_writer_is_at_work_restores_what_was_committed(edge, cli,
                                                                              tmp_path):
    import sqlite3

    from tests.conftest import SAMPLES

    _sqlite_only(edge)
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    visits = _count(edge.settings.database_url, "visits")
    # the bot is writing: a write transaction is open (WAL), and its rows are not committed
    live = sqlite3.connect(make_url(edge.settings.database_url).database, isolation_level=None)
    live.execute("BEGIN IMMEDIATE")
    live.execute("DELETE FROM visits")
    result = cli("db", "backup", tmp_path / "backup.db")
    live.execute("COMMIT")
    live.close()
    assert "Backed up the database (schema revision" in result.output
    assert not list(tmp_path.glob(".backup.db.partial"))
    assert _count(edge.settings.database_url, "visits") == 0

    result = cli("db", "restore", tmp_path / "backup.db", ok=False)  # asks first
    assert result.exit_code == 1 and _count(edge.settings.database_url, "visits") == 0
    cli("db", "restore", tmp_path / "backup.db", "--yes")
    assert _count(edge.settings.database_url, "visits") == visits
    assert cli("kpi", "--team", "HAD-C", "--json").output  # the restored database serves


def test_restore_refuses_what_is_not_a_teampuls_backup_this_version_knows(edge, cli, tmp_path):
    import sqlite3

    _sqlite_only(edge)
    cli("db", "upgrade")
    text_file = tmp_path / "notes.db"
    text_file.write_text("hello", encoding="utf-8")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    newer = tmp_path / "newer.db"
    cli("db", "backup", newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.close()
    for path, says in ((tmp_path / "missing.db", "there is no file"),
                       (text_file, "is not a SQLite database"),
                       (other, "is not a teampuls database"),
                       (newer, "schema revision 9999, newer than this version")):
        result = cli("db", "restore", path, "--yes", ok=False)
        assert result.exit_code == 1 and says in result.output, result.output


def test_postgresql_backups_are_pg_dumps(edge, cli, tmp_path):
    if edge.engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL only")
    for command, tool in (("backup", "pg_dump"), ("restore", "pg_restore")):
        result = cli("db", command, tmp_path / "x.dump", ok=False)
        assert result.exit_code == 1 and tool in result.output, result.output


def test_downgrade_steps_the_schema_down_and_a_start_brings_it_up_again(edge, cli):
    from storage.database import current_revision, make_engine
    from storage.schema_revision import head_revision

    cli("db", "upgrade")
    result = cli("db", "downgrade", "0010", "--yes")
    assert "The database is at revision 0010." in result.output
    engine = make_engine(edge.settings.database_url)
    assert current_revision(engine) == "0010"
    refused = cli("db", "downgrade", "0042", "--yes", ok=False)
    assert refused.exit_code == 1 and "is not a schema revision" in refused.output
    refused = cli("db", "downgrade", "0011", "--yes", ok=False)
    assert refused.exit_code == 1 and "nothing to step down" in refused.output
    from bot.edge import Edge
    from tests.conftest import NOW, Cli

    Cli(Edge(edge.settings, NOW))("db", "upgrade")  # a new process: it upgrades on start
    assert current_revision(engine) == head_revision()
    engine.dispose()


# -- JSON logs ------------------------------------------------------------------------------------

def test_json_logs_are_one_object_per_line_without_any_exception_message():
    import json

    from bot.logs import JsonFormatter, install
    from bot.settings import Settings, SettingsError

    assert Settings.from_environ({"TEAMPULS_LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_environ({}).log_format == "text"
    with pytest.raises(SettingsError, match="TEAMPULS_LOG_FORMAT must be text or json"):
        Settings.from_environ({"TEAMPULS_LOG_FORMAT": "xml"})

    install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    ours, library = logging.getLogger("bot.test_ops"), logging.getLogger("slack_bolt.test_ops")
    for logger in (ours, library):
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        ours.info("answered %s for %s", "/kpi", "U0TEST0001")
        typed, cpr = "B-10442 said: line one\nline two", "goal text 0101901234"
        try:
            try:
                raise KeyError(typed)
            except KeyError as error:
                raise RuntimeError(cpr) from error
        except RuntimeError:
            ours.error("answering /goal failed (incident %s)", "abcd1234", exc_info=True)
        library.warning('Failed to run listener function (error: "B-10442")')
    finally:
        for logger in (ours, library):
            logger.removeHandler(handler)
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    assert entries[0]["message"] == "answered /kpi for U0TEST0001"
    assert entries[0]["level"] == "INFO" and entries[0]["logger"] == "bot.test_ops"
    assert entries[0]["time"].endswith("Z") and "T" in entries[0]["time"]
    assert "exception" not in entries[0]
    failed = entries[1]
    assert failed["exception"] == "RuntimeError < KeyError"
    assert "raise RuntimeError(cpr)" in failed["traceback"]  # the frames are there
    assert "RuntimeError (message withheld)" in failed["traceback"]
    assert entries[2]["message"] == "Failed to run listener function [...]"
    assert "B-10442" not in stream.getvalue() and "0101901234" not in stream.getvalue()


# -- /metrics -------------------------------------------------------------------------------------

def _samples(body: bytes) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_metrics_count_answers_deliveries_and_imports_from_the_database(edge, cli, tmp_path):
    from sqlalchemy import select

    from bot.prometheus import exposition, observe
    from storage.models import DashboardDelivery, Team
    from tests.conftest import NOW, SAMPLES

    application = wsgi_app(None, "secret", metrics=exposition(edge.engine))
    before = _samples(_get(application, "/metrics")[2])
    assert before["teampuls_database_up{}"] == 1
    assert before["teampuls_imports_total{}"] == 0
    assert "teampuls_last_import_timestamp_seconds{}" not in before

    result = cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    rows = sum(int(n.replace(",", "")) for n in
               __import__("re").findall(r"([\d,]+) \w+ rows", result.output))
    with edge.sessions.begin() as session:
        teams = session.scalars(select(Team.id)).all()
        for week, (team, state) in enumerate(zip(teams, ("sent", "sent", "failed", "pending"))):
            session.add(DashboardDelivery(team_id=team, week=week, state=state, attempts=1,
                                          first_claimed_at=NOW))
    observe("answering /kpi", False, 0.4)
    observe("answering /kpi", True, 7.0)
    observe("saving a form", False, 0.05)
    observe("reading the members of the linked channels", False, 1.0)  # answers nobody

    status, headers, body = _get(application, "/metrics")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain; version=")
    after = _samples(body)
    assert after["teampuls_imports_total{}"] == 1
    assert after["teampuls_import_rows_total{}"] == after["teampuls_last_import_rows{}"] == rows
    assert abs(after["teampuls_last_import_timestamp_seconds{}"] - __import__("time").time()) \
        < 600
    assert after["teampuls_dashboard_deliveries{state=sent}"] == 2
    assert after["teampuls_dashboard_deliveries{state=failed}"] == 1
    assert after["teampuls_dashboard_deliveries{state=pending}"] == 1
    assert after["teampuls_dashboard_deliveries{state=claimed}"] == 0
    for key, added in (("teampuls_answers_total{kind=/kpi,outcome=answered}", 1),
                       ("teampuls_answers_total{kind=/kpi,outcome=failed}", 1),
                       ("teampuls_answers_total{kind=form,outcome=answered}", 1),
                       ("teampuls_answer_seconds_count{kind=/kpi}", 2),
                       ("teampuls_answer_seconds_bucket{kind=/kpi,le=0.5}", 1)):
        assert after[key] - before.get(key, 0) == added, key
    assert not any("members" in key for key in after)
    assert any(key.startswith("process_") for key in after) or \
        __import__("sys").platform != "linux"

    gone = make_engine(_unreachable(edge.settings.database_url, tmp_path))
    down = _samples(_get(wsgi_app(None, "secret", metrics=exposition(gone)), "/metrics")[2])
    gone.dispose()
    assert down["teampuls_database_up{}"] == 0 and "teampuls_imports_total{}" not in down
