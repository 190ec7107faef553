"""The bot under load: acknowledgement and answer times, chart drawing, idle memory.

Builds a SQLite database with 1,000 teams x 156 weeks of KPI values, starts `teampuls run` in
HTTP mode against the tests' Slack stand-in, and lets 10 users ask at once, each sending its
next command when the previous answer has arrived. Prints the ack latency (the HTTP answer to
the signed request) and the full answer time (until the card or chart reached the stand-in),
the median time to draw one KPI chart, and the bot's memory when idle, alone and with the
processes it draws charts on.

Targets (issue 3): ack p99 < 100 ms, answer p95 < 800 ms, chart median < 60 ms, idle < 250 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics import weeks  # noqa: E402
from metrics.kpis import KPIS  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402
from tests.test_slack import RunningBot, _environment, _free_port, command  # noqa: E402

# The bot answers for the last complete week by its own clock (in the default time zone), so
# the data must reach that week.
TODAY = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Copenhagen")).date()
COMMANDS = ("", "sick", "brugertid", "sygefravær alle", "vikarer", "kontinuitet alle")


def build_database(path: pathlib.Path, teams: int, n_weeks: int) -> None:
    from sqlalchemy import insert

    from storage.database import ensure_schema, make_engine
    from storage.models import KpiValue, Team, TeamChannel

    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    rng = random.Random(7)
    last = weeks.last_complete(TODAY)
    with engine.begin() as connection:
        connection.execute(insert(Team), [
            {"id": i, "code": f"T{i:04d}", "name": f"Team {i}", "language": "da"}
            for i in range(1, teams + 1)])
        connection.execute(insert(TeamChannel), [
            {"channel_id": f"C{i:08d}", "team_id": i} for i in range(1, teams + 1)])
        rows = []
        for i in range(1, teams + 1):
            for week in range(last - n_weeks + 1, last + 1):
                for kpi in KPIS:
                    rows.append({"team_id": i, "week": week, "kpi": kpi.key,
                                 "value": rng.uniform(0.02, 0.7), "numerator": None,
                                 "denominator": None})
            if len(rows) > 200_000:
                connection.execute(insert(KpiValue), rows)
                rows = []
        connection.execute(insert(KpiValue), rows)
    engine.dispose()


def chart_times(n: int = 30) -> list[float]:
    """Milliseconds to draw one 26-week trend chart (figure and PNG)."""
    from charts.kpi_trend import trend_figure
    from charts.render import to_png

    rng = random.Random(3)
    week_list = list(range(100, 126))
    times = []
    for _ in range(n + 3):
        own = {w: rng.uniform(0.05, 0.15) for w in week_list if rng.random() > 0.05}
        bands = {w: (0.06, 0.09, 0.12) for w in week_list}
        started = time.perf_counter()
        to_png(trend_figure(week_list, own, bands, (0.6, 0.65), title="Sygefravær, team T0001",
                            format_value=lambda v: f"{v * 100:.1f} %".replace(".", ","),
                            week_label=lambda w: f"uge {w % 52 + 1}",
                            legend=("team", "andre", "midte", "median", "norm", "ingen data")))
        times.append((time.perf_counter() - started) * 1000)
    return times[3:]  # the first drawings warm caches up


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The bot's own processes: its drawing workers (and multiprocessing's helper)."""
    found = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def memory(pid: int) -> tuple[float, float]:
    """(the bot process, the bot and its child processes) in MB of resident memory."""
    own = rss_mb(pid)
    return own, own + sum(rss_mb(child) for child in children(pid))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--asks", type=int, default=20, help="commands per user")
    args = parser.parse_args()

    folder = pathlib.Path(tempfile.mkdtemp(prefix="teampuls-bot-bench-"))
    db = folder / "bench.db"
    started = time.perf_counter()
    build_database(db, args.teams, args.weeks)
    print(f"database: {args.teams} teams x {args.weeks} weeks x {len(KPIS)} KPIs in "
          f"{time.perf_counter() - started:.1f} s")

    standin = SlackStandIn()
    port = _free_port()
    env = _environment(f"sqlite:///{db}", standin, TEAMPULS_LOG_LEVEL="WARNING")
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(port),
                                "--host", "127.0.0.1"], env=env, cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bot = RunningBot(process, port)
    try:
        while True:
            try:
                urllib.request.urlopen(bot.url + "/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None:
                    sys.exit("teampuls run did not start")
                time.sleep(0.1)
        standin.wait_for(lambda: len(standin.of("conversations.members")) >= args.teams,
                         timeout=120)
        time.sleep(2)
        idle = memory(process.pid)

        acks: list[float] = []
        answers: list[float] = []
        by_command: dict[str, list[float]] = {}
        lock = threading.Lock()

        def user(n: int) -> None:
            rng = random.Random(n)
            who = f"U{n:09d}"
            for ask in range(args.asks):
                text = rng.choice(COMMANDS)
                channel = f"C{rng.randint(1, args.teams):08d}"
                mark = len(standin.calls)
                began = time.monotonic()
                status, seconds = bot.post(command(text, user=who, channel=channel,
                                                   standin=standin))
                assert status == 200, status
                standin.wait_for(lambda: any(c.args["user"] == who for c in
                                             standin.since(mark, "chat.postEphemeral")),
                                 timeout=60)
                with lock:
                    acks.append(seconds * 1000)
                    answers.append((time.monotonic() - began) * 1000)
                    by_command.setdefault(text or "(card)", []).append(answers[-1])

        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - began
        busy = memory(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        standin.close()

    charts = chart_times()
    print(f"{len(answers)} commands from {args.users} users at once in {elapsed:.1f} s")
    print(f"ACK: p50 {percentile(acks, 50):.0f} ms, p99 {percentile(acks, 99):.0f} ms "
          f"(target p99 < 100 ms)")
    print(f"ANSWER: p50 {percentile(answers, 50):.0f} ms, p95 {percentile(answers, 95):.0f} ms "
          f"(target p95 < 800 ms)")
    for text, times in sorted(by_command.items()):
        print(f"  /kpi {text}: {len(times)} answers, p50 {percentile(times, 50):.0f} ms, "
              f"p95 {percentile(times, 95):.0f} ms, first {times[0]:.0f} ms")
    print(f"CHART: median {statistics.median(charts):.0f} ms over {len(charts)} drawings "
          f"(target < 60 ms)")
    print(f"MEMORY: idle {idle[0]:.0f} MB, {idle[1]:.0f} MB with its drawing processes "
          f"(target < 250 MB); after the load {busy[0]:.0f} MB, {busy[1]:.0f} MB with them")


if __name__ == "__main__":
    main()
