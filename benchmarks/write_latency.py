"""The bot's writes on SQLite while a large import runs, and without one.

Generates the import benchmark's exports (``benchmarks/import_speed.py``: 100 teams x 52 weeks,
about 6 million rows; ``--teams`` for fewer), creates a team with a linked channel and members,
then starts `teampuls import` in a fresh process, as a user does, while writer threads create
goals and follow-ups for that team the way the bot answers them: a goal form's submission
(``interaction_context`` and ``on_form``) and a `/followup add` command (``answer``), each in
its own transaction from the bot's sessions, one after the other with a short pause. Then the
same writers run for as long again without an import. Prints the number of writes, the failed
ones (any exception), write latency p50/p95/p99/max, and the import's rows/s and total time.

Targets (issue 17): 0 failed writes, p99 < 3 s during a 6M-row import; the import's rows/s
within 15 % of `benchmarks/import_speed.py` on the same exports.
"""

from __future__ import annotations

import argparse
import json
import datetime as dt
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import locktrace  # noqa: E402
from benchmarks.import_speed import NEXT, TEAMPULS, exports  # noqa: E402

ZONE = zoneinfo.ZoneInfo("Europe/Copenhagen")
CHANNEL = "CWRITES01"
USERS = [f"UW{i:04d}" for i in range(1, 9)]


def prepare(url: str) -> int:
    """The team the writers write for (with its channel and members); its id."""
    from storage.database import ensure_schema, make_engine, session_factory
    from storage.teams import TeamChanges, add_team, set_channel_members

    engine = make_engine(url)
    ensure_schema(engine)
    with session_factory(engine).begin() as session:
        team = add_team(session, "WRITES", TeamChanges(name="Writes", add_channels=(CHANNEL,)))
        set_channel_members(session, CHANNEL, USERS)
        team_id = team.id
    engine.dispose()
    return team_id


class Writers:
    """Threads that create goals and follow-ups as the bot does, until told to stop."""

    def __init__(self, url: str, team_id: int, threads: int, pause: float):
        from bot.edge import Edge
        from bot.settings import Settings

        self.edge = Edge(Settings.from_environ({"DATABASE_URL": url}), dt.datetime.now(ZONE),
                         clock=lambda: dt.datetime.now(ZONE))
        self.team_id = team_id
        self.pause = pause
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), name=f"writer-{i}")
                         for i in range(threads)]

    def write_goal(self, user: str, n: int) -> None:
        from commands.dispatch import interaction_context, on_form

        today = self.edge.current().date()
        values = {"citizen_ref": f"B-{n % 97:05d}", "what_matters": "to walk to the bakery",
                  "goal": f"walks with a rollator, goal {n}", "follow_up_by": user,
                  "reassess_on": (today + dt.timedelta(days=30)).isoformat()}
        with self.edge.sessions.begin() as session:
            ctx = interaction_context(session, user, CHANNEL, now=self.edge.current(),
                                      default_language="da", team_id=self.team_id)
            reply = on_form("goal", f"team={self.team_id};channel={CHANNEL}", values, ctx)
        if reply.error:
            raise RuntimeError("the goal was refused")

    def write_follow_up(self, user: str, n: int) -> None:
        from commands.context import Request
        from commands.dispatch import answer

        due = (self.edge.current().date() + dt.timedelta(days=7)).strftime("%-d.%-m")
        text = f"add B-{n % 97:05d} <@{user}> {due} call the daughter about the walker"
        with self.edge.sessions.begin() as session:
            reply = answer(Request("/followup", text, user, CHANNEL, None), session,
                           now=self.edge.current(), default_language="da",
                           admins=frozenset())
        if reply.error:
            raise RuntimeError("the follow-up was refused")

    def _run(self, index: int) -> None:
        user = USERS[index % len(USERS)]
        n = index
        while not self.stop.is_set():
            write = self.write_goal if n % 2 else self.write_follow_up
            started = time.perf_counter()
            try:
                write(user, n)
                error = None
            except Exception as failure:  # counted and named: the figure this benchmark is for
                error = f"{type(failure).__name__}: {str(failure)[:120]}"
            seconds = time.perf_counter() - started
            with self._lock:
                if error is None:
                    self.latencies.append(seconds)
                else:
                    self.failures.append(error)
            n += len(self._threads)
            self.stop.wait(self.pause)

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()
        self.edge.engine.dispose()

    def report(self, label: str) -> None:
        import numpy as np

        print(f"{label}: {len(self.latencies) + len(self.failures):,} writes, "
              f"{len(self.failures)} failed (target 0)")
        if self.latencies:
            ms = np.array(self.latencies) * 1000
            p50, p95, p99 = np.percentile(ms, [50, 95, 99])
            print(f"  latency p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, p99 {p99:,.0f} ms "
                  f"(target < 3,000), max {ms.max():,.0f} ms")
        for failure in sorted(set(self.failures))[:5]:
            print(f"  failed: {failure}")


# The import as `teampuls import` runs it, with its transactions traced (argv: root, trace file,
# files).
_TRACED_IMPORT = """
import sys
root, trace, *files = sys.argv[1:]
sys.path.insert(0, root)
from benchmarks import locktrace
locktrace.install("import", trace)
from bot.cli import teampuls
teampuls(["import", *files], prog_name="teampuls")
"""


class WalSize:
    """Samples the size of the database's WAL file ten times a second."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-size")

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.largest = max(self.largest, self.path.stat().st_size)
            except FileNotFoundError:
                pass

    def __enter__(self) -> WalSize:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


class Outcome:
    def __init__(self, seconds: float, failed: bool):
        self.seconds = seconds
        self.failed = failed


def import_with_writers(args, url: str, team_id: int, env: dict, paths, total: int,
                        folder: pathlib.Path, label: str) -> Outcome:
    """`teampuls import` of ``paths`` in a fresh process while the writers write; prints the
    figures (and with ``--trace`` every write transaction's)."""
    folder.mkdir(exist_ok=True)
    db = pathlib.Path(url.removeprefix("sqlite:///"))
    command = [*TEAMPULS, "import", *map(str, paths)]
    trace_file = folder / "import-trace.jsonl"
    if args.trace:
        command = [sys.executable, "-c", _TRACED_IMPORT, str(ROOT), str(trace_file),
                   *map(str, paths)]
    wal = WalSize(pathlib.Path(f"{db}-wal"))
    with Writers(url, team_id, args.writers, args.pause) as during, wal:
        started = time.perf_counter()
        importer = subprocess.Popen(command, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = importer.communicate()
        finally:
            if importer.poll() is None:  # interrupted: the import ends with the benchmark
                importer.kill()
                importer.wait()
        seconds = time.perf_counter() - started
    if importer.returncode:
        print(f"IMPORT FAILED (exit {importer.returncode}):\n{err[-3000:]}")
    else:
        print(f"IMPORT ({label.lower()}) sqlite: {total:,} rows in {seconds:.1f} s = "
              f"{total / seconds:,.0f} rows/s with {args.writers} writers")
    during.report(f"DURING {label}")
    print(f"  WAL file: largest {wal.largest / 2**20:,.0f} MB")
    if args.trace:
        traced = locktrace.records(clear=True)
        if trace_file.exists():
            traced += [json.loads(line) for line in trace_file.read_text().splitlines()]
        print("  write transactions (lock held from BEGIN IMMEDIATE's return to COMMIT's):")
        for line in locktrace.summary(traced):
            print(line)
        slow = sorted((r for r in traced if r["role"] == "bot" and r["mode"] == "IMMEDIATE"),
                      key=lambda r: -(r["wait"] + r["held"]))[:5]
        for record in slow:
            holders = [r for r in traced if r["role"] == "import" and r["mode"] == "IMMEDIATE"
                       and r["at"] < record["at"] and r["at"] + r["held"] > record["at"] - record["wait"]]
            print(f"  slowest bot write: waited {record['wait'] * 1000:,.0f} ms, held "
                  f"{record['held'] * 1000:,.0f} ms (commit {record['commit'] * 1000:,.0f} ms); "
                  f"{len(holders)} import transactions ran meanwhile, longest "
                  f"{max((h['held'] for h in holders), default=0) * 1000:,.0f} ms")

    return Outcome(seconds, bool(importer.returncode or during.failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=100, help="100: about 6M rows")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--writers", type=int, default=4, help="writer threads")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="seconds a writer waits between its writes")
    parser.add_argument("--keep", metavar="DIR", help="write the exports here and keep them")
    parser.add_argument("--trace", action="store_true",
                        help="time every write transaction (benchmarks/locktrace.py) and print "
                             "lock waits and holds per kind of transaction, and the WAL's size")
    parser.add_argument("--first-only", action="store_true",
                        help="only a first load (else next week's export is imported too, into "
                             "the populated database)")
    args = parser.parse_args()
    if args.trace:
        locktrace.install("bot")

    folder = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="teampuls-writes-"))
    paths, total = exports(folder, args.teams, args.weeks)
    db = folder / "writes.db"
    for suffix in ("", "-wal", "-shm", "-import.lock"):
        pathlib.Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    team_id = prepare(url)
    env = {**os.environ, "DATABASE_URL": url, "TEAMPULS_IMPORT_MAX_MB": "4096"}

    first = import_with_writers(args, url, team_id, env, paths, total, folder / "first",
                                "A FIRST LOAD")
    failed = first.failed
    seconds = first.seconds
    if not args.first_only:
        next_paths, next_total = exports(folder / "next", args.teams, args.weeks, NEXT)
        again = import_with_writers(args, url, team_id, env, next_paths, next_total,
                                    folder / "next", "AN IMPORT INTO A POPULATED DATABASE")
        failed = failed or again.failed

    with Writers(url, team_id, args.writers, args.pause) as alone:
        alone.stop.wait(min(seconds, 60))
    alone.report("WITHOUT AN IMPORT")
    if failed or alone.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
