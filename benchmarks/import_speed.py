"""Import speed and memory, and the start-up time of `teampuls kpi --json`.

Generates 100 teams x 52 weeks of exports (about 5 million visits and 1 million hours rows),
imports them with `teampuls import` in a fresh process (end to end: reading, checking, writing
and KPI recomputation), and prints rows per second and the process's peak memory. Then it times
`teampuls kpi --json` for one team and week, interpreter start-up included.

Targets (issue 2): >= 150,000 rows/s, peak memory < 2 GB, kpi --json < 400 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics import weeks  # noqa: E402
from storage.demo_exports import DemoShape, generate  # noqa: E402

TEAMPULS = [sys.executable, "-m", "bot"]
# The installed console script, as a user runs it (falls back to python -m bot).
_SCRIPT = pathlib.Path(sys.executable).with_name("teampuls")
KPI_COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else TEAMPULS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--keep", metavar="DIR", help="write the exports here and keep them")
    parser.add_argument("--again", action="store_true",
                        help="then import the next week's export into the populated database")
    args = parser.parse_args()

    folder = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="teampuls-bench-"))
    paths, total = exports(folder, args.teams, args.weeks)
    last = LAST

    url = args.database_url
    if url is None:
        db = folder / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            pathlib.Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    else:
        reset_postgres(url)
    env = {**os.environ, "DATABASE_URL": url, "TEAMPULS_IMPORT_MAX_MB": "4096"}
    subprocess.run([*TEAMPULS, "db", "upgrade"], env=env, check=True, capture_output=True)

    started = time.perf_counter()
    done = subprocess.run([*TEAMPULS, "import", *map(str, paths)], env=env, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"import failed:\n{done.stderr[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.stdout.strip())
    print(f"IMPORT {url.split(':')[0]}: {total:,} rows in {seconds:.1f} s = "
          f"{total / seconds:,.0f} rows/s (target >= 150,000); peak memory {peak_mb:,.0f} MB "
          f"(target < 2,048)")

    if args.again:
        next_paths, next_total = exports(folder / "next", args.teams, args.weeks, NEXT)
        started = time.perf_counter()
        done = subprocess.run([*TEAMPULS, "import", *map(str, next_paths)], env=env,
                              capture_output=True, text=True)
        again = time.perf_counter() - started
        if done.returncode:
            sys.exit(f"the second import failed:\n{done.stderr[-3000:]}")
        print(f"IMPORT INTO A POPULATED DATABASE {url.split(':')[0]}: next week's export, "
              f"{next_total:,} rows into {total:,} in {again:.1f} s = "
              f"{next_total / again:,.0f} rows/s")
    times = []
    week = weeks.label(last - 3)
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run([*KPI_COMMAND, "kpi", "--team", "T0042", "--week", week, "--json"],
                       env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    print(f"KPI --json: median {statistics.median(times):.0f} ms, best {min(times):.0f} ms "
          f"over {len(times)} fresh processes (target < 400 ms)")


LAST = weeks.last_complete(dt.date(2026, 11, 22))  # the exports' last week
NEXT = LAST + 1  # the export of a week later: a database that holds LAST's gets it next


def exports(folder: pathlib.Path, teams: int, n_weeks: int,
            last: int | None = None) -> tuple[list[pathlib.Path], int]:
    """The benchmark's exports in ``folder`` (generated unless they are there), and their rows;
    ``last``: their last week (default ``LAST``; the next week's export is ``NEXT``)."""
    paths = [folder / f"{k}.csv" for k in ("staff", "hours", "visits", "norms")]
    if not all(p.exists() for p in paths):
        started = time.perf_counter()
        shape = DemoShape(teams=teams, weeks=n_weeks, staff=(11, 15),
                          visit_frequencies=(5, 7, 7, 14, 14, 14, 21, 21, 28), pieces=3)
        generate(weeks.monday(LAST if last is None else last), shape).write(folder)
        print(f"generated exports in {time.perf_counter() - started:.1f} s into {folder}")
    rows = {p.stem: sum(1 for _ in p.open()) - 1 for p in paths}
    total = sum(rows.values())
    print("rows: " + ", ".join(f"{k} {n:,}" for k, n in rows.items()) + f"; total {total:,}")
    return paths, total


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from storage.database import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    main()
