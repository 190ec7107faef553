"""How fast the back office's capacity view answers (issue 7).

Generates the demo's synthetic exports for ``--teams`` teams over ``--weeks`` weeks, imports
them into a fresh SQLite file (or ``--database-url``), and times, through the same dispatcher
the bot uses with one shared cache: ``/capacity TEAM`` for a few teams (reading the team's
three years of exports, forecasting every group, drawing the chart), then ``/capacity all``
over every team cold and again warm (the plans kept until the next import), and prints the
peak memory.
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

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.edge import Edge
from bot.settings import Settings
from commands.context import Request
from commands.dispatch import answer
from metrics import weeks
from storage.demo_exports import DemoShape, generate, team_codes
from storage.importers.runner import run_import
from storage.kpi_cache import KpiCache

ADMIN = "U0BENCHADM"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="teampuls-capacity-"))
    url = args.database_url or f"sqlite:///{folder / 'capacity.db'}"
    settings = Settings.from_environ({"DATABASE_URL": url, "TEAMPULS_LANGUAGE": "da"})
    edge = Edge(settings, now)
    started = time.perf_counter()
    last_monday = weeks.monday(weeks.last_complete(now.date()))
    exports = generate(last_monday, DemoShape(teams=args.teams, weeks=args.weeks))
    paths = exports.write(folder / "exports")
    with edge.sessions.begin() as session:
        run_import(session, [(p, None) for p in paths], max_bytes=settings.import_max_bytes)
    rows = sum(len(getattr(exports, k)) for k in ("staff", "hours", "visits", "norms"))
    print(f"CAPACITY: {args.teams} teams x {args.weeks} weeks, {rows:,} rows generated and "
          f"imported in {time.perf_counter() - started:.0f} s")
    cache = KpiCache()

    def ask(text: str):
        begun = time.perf_counter()
        with edge.sessions.begin() as session:
            reply = answer(Request("/capacity", text, ADMIN, "C0BENCH001"), session, now=now,
                           default_language="da", admins=frozenset({ADMIN}), cache=cache)
        if reply.error:
            raise SystemExit(f"/capacity {text}: {reply.text}")
        return time.perf_counter() - begun

    codes = [code for code, _ in team_codes(args.teams)]
    one = [ask(code) for code in codes[:5]]
    print(f"  /capacity TEAM (read, forecast, chart): median {statistics.median(one) * 1000:.0f} "
          f"ms, max {max(one) * 1000:.0f} ms over {len(one)} teams")
    cold = ask("all")
    warm = ask("all")
    print(f"  /capacity all over {args.teams} teams: {cold:.1f} s cold "
          f"({(cold / args.teams) * 1000:.0f} ms a team), {warm * 1000:.0f} ms warm")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
