"""Operations: the health check, metrics, JSON logs, backups and the export folder's watcher."""

from __future__ import annotations

import io
import logging
import threading

import pytest
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
