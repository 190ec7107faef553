"""Posting the weekly dashboard to many teams within Slack's rate limits.

Builds a SQLite database with 1,000 teams x 156 weeks of KPI values (as the bot benchmark
does), links a channel to each team, and posts the last complete week's dashboard of the
first ``--teams`` teams through the real poster (drawing on worker processes, as the bot
does) to the Slack stand-in, which enforces Slack's published limits (uploads at Tier 4, 100
a minute; one message a second per channel) ``--speed`` times faster than Slack so the run
takes minutes, not a quarter of an hour. Prints the time, the achieved upload rate as a share
of the limit, the 429s met, and the peak memory of the poster and its drawing processes.

Target (issue 4): 90 % of the limit or better.
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import resource
import sys
import tempfile
import time
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_speed import build_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=1000, help="dashboards to post")
    parser.add_argument("--speed", type=float, default=4.0,
                        help="run Slack's limits this many times faster")
    args = parser.parse_args()

    from bot.drawing import Drawing, workers
    from bot.edge import Edge
    from bot.gateway import Gateway, web_client
    from bot.rate_limits import PER_MINUTE, Pacer
    from bot.settings import Settings
    from bot.weekly_dashboard import WeeklyPoster
    from metrics import weeks
    from storage.kpi_cache import KpiCache
    from storage.teams import TeamChanges, edit_team, list_teams
    from tests.slack_standin import TOKEN, SlackStandIn

    folder = pathlib.Path(tempfile.mkdtemp(prefix="teampuls-posting-bench-"))
    build_database(folder / "bench.db", 1000, 156)
    now = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Copenhagen"))
    edge = Edge(Settings.from_environ({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}"}),
                now, clock=lambda: dt.datetime.now(zoneinfo.ZoneInfo("Europe/Copenhagen")))
    with edge.sessions.begin() as session:
        teams = list_teams(session)[:args.teams]
        for n, team in enumerate(teams, start=1):
            edit_team(session, team, TeamChanges(add_channels=(f"C0BENCH{n:05d}",),
                                                 add_roles=(("rapporter", f"U0RAPP{n:05d}"),)))
        codes = [team.code for team in teams]

    standin = SlackStandIn()
    standin.enforce_slack_limits(args.speed)
    client = web_client(TOKEN, standin.base_url, rate_limit_retries=20, connection_retries=0)
    drawing = Drawing(workers())
    poster = WeeklyPoster(edge, Gateway(client, Pacer(args.speed)), draw=drawing.png,
                          cache=KpiCache())
    week = weeks.last_complete(now.date())
    started = time.perf_counter()
    outcomes = poster.post(codes, week)
    seconds = time.perf_counter() - started
    standin.close()

    sent = sum(o.result == "sent" for o in outcomes)
    uploads = standin.of("files.completeUploadExternal")
    first, last = uploads[0].at, uploads[-1].at
    limit = PER_MINUTE["files.completeUploadExternal"] * args.speed
    # n uploads paced at the limit take (n - 1) intervals.
    rate = (len(uploads) - 1) / (last - first) * 60 if len(uploads) > 1 else 0.0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    drawing.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"POSTING: {sent} of {len(codes)} dashboards posted in {seconds:.1f} s; uploads at "
          f"{rate:.0f}/min against a limit of {limit:.0f}/min (Slack's Tier 4 x {args.speed:g}) "
          f"= {rate / limit:.0%} of the limit (target >= 90 %); 429s: {standin.limited}; "
          f"peak memory {own:.0f} MB (poster) + {children:.0f} MB (largest drawing process)")


if __name__ == "__main__":
    main()
