"""The bot keeps KPI reads between requests; an import must make every kept copy stale."""

from __future__ import annotations

from commands.context import Request
from commands.dispatch import answer
from storage.kpi_cache import KpiCache
from tests.conftest import NOW, SAMPLES

FILES = ("staff", "hours", "visits", "norms")


def _ask(edge, cache: KpiCache, text: str) -> str:
    with edge.sessions.begin() as session:
        reply = answer(Request("/kpi", text, "U0TEST001", "C0NOTEAM1"), session, now=NOW,
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
