"""The bot keeps KPI reads between requests; an import must make every kept copy stale."""

from __future__ import annotations

from commands.context import Request
from commands.dispatch import answer
from storage.kpi_cache import KpiCache
from tests.conftest import NOW, SAMPLES

FILES = ("staff", "hours", "visits", "norms")


def _ask(edge, cache: KpiCache, text: str, now=NOW) -> str:
    with edge.sessions.begin() as session:
        reply = answer(Request("/kpi", text, "U0TEST001", "C0NOTEAM1"), session, now=now,
                       default_language="en", admins=frozenset(), cache=cache)
    assert not reply.error, reply.text
    return reply.as_text()


def test_an_import_makes_cached_reads_stale(cli, edge, tmp_path):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    cache = KpiCache()
    first = _ask(edge, cache, "clients VOJ-N 2025-W51")
    assert _ask(edge, cache, "clients VOJ-N 2025-W51") == first
    assert cache.hits >= 1

    # The same citizens seen by a new team in the last weeks: other teams' bands change.
    visits = (SAMPLES / "canonical" / "visits.csv").read_text(encoding="utf-8").splitlines()
    header, rows = visits[0], visits[1:]
    team = header.split(",").index("team")
    moved = [",".join(["X" + f if i == 0 else "NEW-T" if i == team else f
                       for i, f in enumerate(row.split(","))]) for row in rows]
    (tmp_path / "visits.csv").write_text("\n".join([header, *moved]) + "\n", encoding="utf-8")
    cli("import", "visits", tmp_path / "visits.csv")

    misses = cache.misses
    after = _ask(edge, cache, "clients VOJ-N 2025-W51")
    assert cache.misses > misses, "the new version is read from the database"
    assert after != first
    assert after == _ask(edge, None, "clients VOJ-N 2025-W51")  # as without a cache


def test_requests_that_miss_the_same_copy_read_it_once():
    import threading
    import time

    cache = KpiCache()
    reads = []

    def read():
        reads.append(1)
        time.sleep(0.2)
        return {"value": 1}

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("k",), read)))
               for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1 and results == [{"value": 1}] * 5
    assert cache.get(("k",), read) == {"value": 1} and len(reads) == 1


def test_a_failed_read_is_not_kept():
    cache = KpiCache()

    def broken():
        raise RuntimeError("database gone")

    for _ in range(2):
        try:
            cache.get(("k",), broken)
        except RuntimeError:
            pass
        else:
            raise AssertionError("the error reaches the caller")
    assert cache.get(("k",), lambda: 3) == 3


def test_a_warm_cache_answers_every_teams_default_questions_without_reading(cli, edge):
    import datetime as dt

    from commands.kpi import warm
    from storage.kpi_cache import KpiReads
    from storage.queries import session_fetch

    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    now = dt.datetime(2025, 12, 17, 8, tzinfo=NOW.tzinfo)  # in the samples' weeks
    cache = KpiCache()
    with edge.sessions.begin() as session:
        warm(KpiReads(session_fetch(session), cache), now)
    misses = cache.misses
    for team in ("VOJ-N", "HAD-C"):
        for text in ("", "sick", "productivity all", "continuity"):
            _ask(edge, cache, f"{text} {team}", now=now)
    assert cache.misses == misses and cache.hits > 0
