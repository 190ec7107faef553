"""Migrations and models agree, and the database is brought up to date on start."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import alembic_config, current_revision, make_engine, upgrade
from storage.schema_revision import head_revision
from storage.models import Base


def test_file_name_head_is_alembics_head(database_url):
    engine = make_engine(database_url)
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == head_revision()


def test_migrations_create_exactly_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    engine.dispose()


def test_first_command_upgrades_the_database(cli, edge):
    cli("team", "list")
    assert current_revision(edge.engine) == head_revision()
    result = cli("db", "upgrade")
    assert f"revision {head_revision()}" in result.output


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
