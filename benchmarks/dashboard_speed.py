"""Rendering weekly dashboards: the time per team, content and image, for many teams.

Builds a SQLite database with 1,000 teams x 156 weeks of KPI values (as the bot benchmark
does), then answers /dashboard for each of the first ``--teams`` teams through the same
dispatcher as Slack, with one KPI cache shared by all (as the bot has), and prints the median
and 95th percentile per team and the peak memory.

Target (issue 4): under 150 ms per team median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import resource
import statistics
import sys
import tempfile
import time
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_speed import build_database, percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=200, help="dashboards to render")
    args = parser.parse_args()

    from commands.context import Request
    from commands.dispatch import answer
    from storage.database import make_engine, session_factory
    from storage.kpi_cache import KpiCache

    folder = pathlib.Path(tempfile.mkdtemp(prefix="teampuls-dashboard-bench-"))
    build_database(folder / "bench.db", 1000, 156)
    sessions = session_factory(make_engine(f"sqlite:///{folder / 'bench.db'}"))
    now = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Copenhagen"))
    cache = KpiCache()
    times = []
    for n in range(1, args.teams + 1):
        started = time.perf_counter()
        with sessions.begin() as session:
            reply = answer(Request("/dashboard", f"T{n:04d}", "U0BENCH01", "C0NOTEAM1"), session,
                           now=now, default_language="da", admins=frozenset(), cache=cache)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.chart is not None, reply.text
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"DASHBOARD: {len(times)} teams, median {statistics.median(times):.0f} ms, "
          f"p95 {percentile(times, 95):.0f} ms per team, first {times[0]:.0f} ms "
          f"(target median < 150 ms); peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
