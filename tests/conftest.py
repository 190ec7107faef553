"""Shared fixtures: a fresh, migrated database per test on the backend that DATABASE_URL names
(SQLite when unset), and the real command line driven with injected settings and clock."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import uuid
import zoneinfo

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.cli import teampuls
from bot.edge import Edge
from bot.settings import Settings

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"  # the data contract, its sample exports and Slack's manifest schema
SAMPLES = DOCS / "samples"
NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Copenhagen"))


def pytest_report_header(config):
    return f"database: {_backend_url() or 'SQLite (a file per test)'}"


def _backend_url() -> str | None:
    return os.environ.get("DATABASE_URL") or None


class Clock:
    """A clock for time travel: an Edge's ``clock`` that says what the test sets."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def database_url(tmp_path) -> str:
    base = _backend_url()
    if base is None or make_url(base).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'teampuls.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def edge(database_url) -> Edge:
    settings = Settings.from_environ({"DATABASE_URL": database_url, "TEAMPULS_LANGUAGE": "en"})
    made = Edge(settings, NOW)
    yield made
    if "engine" in made.__dict__:
        made.engine.dispose()


class Cli:
    """Runs ``teampuls`` in-process with the test's edge."""

    def __init__(self, edge: Edge):
        self.edge = edge

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        result = CliRunner().invoke(teampuls, [str(a) for a in args], obj=self.edge,
                                    catch_exceptions=False, input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(f"teampuls {' '.join(map(str, args))} failed "
                                 f"({result.exit_code}):\n{result.output}{result.stderr}")
        return result


@pytest.fixture
def cli(edge) -> Cli:
    return Cli(edge)


@pytest.fixture
def standin():
    from tests.slack_standin import SlackStandIn

    server = SlackStandIn()
    yield server
    server.close()
