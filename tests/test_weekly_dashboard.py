"""The weekly dashboard posted by the poster through the Slack stand-in: on schedule, exactly
once, through crashes, rate limits, server errors and refusals; and the pure schedule
(time zones, daylight saving, week 53)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import zoneinfo

import pytest

from bot.edge import Edge
from bot.gateway import Gateway, web_client
from bot.rate_limits import Pacer
from bot.weekly_dashboard import EVENT_TYPE, WeeklyPoster, marker
from metrics import weeks
from metrics.posting_schedule import PostingTime, due_at, parse_time, weeks_at
from storage import deliveries
from tests.conftest import SAMPLES, Clock
from tests.slack_standin import TOKEN

FILES = ("staff", "hours", "visits", "norms")
CPH = zoneinfo.ZoneInfo("Europe/Copenhagen")
WEEK = weeks.parse("2025-W50")
DUE = dt.datetime(2025, 12, 15, 7, 0, tzinfo=CPH)  # Monday of the week after, 07:00
CHANNELS = {"HAD-C": "C0HADC0001", "HAD-V": "C0HADV0001", "VOJ-N": "C0VOJN0001",
            "VOJ-S": "C0VOJS0001"}
ADMIN = "U0ADMIN001"


@pytest.fixture
def teams(cli):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    for code, channel in CHANNELS.items():
        cli("team", "edit", code, "--add-channel", channel,
            "--add-rapporter", f"U0RAPP{code[-1]}001")
    return CHANNELS


@pytest.fixture
def clock() -> Clock:
    return Clock(DUE - dt.timedelta(minutes=1))


def _poster(edge: Edge, standin, clock: Clock, **settings) -> WeeklyPoster:
    timed = Edge(dataclasses.replace(edge.settings, admins=frozenset({ADMIN}), **settings),
                 edge.now, clock=clock)
    timed.__dict__["engine"] = edge.engine  # one engine per test database
    client = web_client(TOKEN, standin.base_url, rate_limit_retries=20, connection_retries=0)
    return WeeklyPoster(timed, Gateway(client, Pacer(speed=1000)), sleep=lambda s: None,
                        workers=4)


def _posts(standin) -> dict[str, list[dict]]:
    return {code: standin.posted(channel) for code, channel in CHANNELS.items()}


def _states(edge) -> dict[tuple[int, int], str]:
    """The delivery states of WEEK (the week before it was never posted: it is skipped)."""
    with edge.sessions.begin() as session:
        return {(r.team_id, r.week): r.state for r in deliveries.records(session)
                if r.week == WEEK}


def _run(poster: WeeklyPoster) -> list:
    """What a run did about WEEK and later weeks."""
    return [o for o in poster.run_due() if o.week >= WEEK]


def test_each_team_gets_one_post_at_its_time_for_its_rapporter(teams, edge, standin, clock):
    poster = _poster(edge, standin, clock)
    # A minute early: nothing posted; the week before, never posted, is past its grace.
    assert {(o.week, o.result) for o in poster.run_due()} == {(WEEK - 1, "skipped")}
    assert not standin.calls
    clock.now = DUE
    outcomes = _run(poster)
    assert sorted((o.team, o.result) for o in outcomes) == [(c, "sent") for c in sorted(CHANNELS)]
    for code, posts in _posts(standin).items():
        (post,) = posts
        assert post["metadata"] == marker(code, WEEK)
        shown = post["blocks"][0]["text"]["text"]
        assert f"*Weekly dashboard of team {code}*, week 50 2025" in shown
        assert f"<@U0RAPP{code[-1]}001>" in shown and f"<@U0RAPP{code[-1]}001>" in post["text"]
        (image,) = [b for b in post["blocks"] if b["type"] == "image"]
        assert standin.uploads[image["slack_file"]["id"]].startswith(b"\x89PNG")
        assert len(post["blocks"]) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in post["blocks"])
    with edge.sessions.begin() as session:
        sent = {r.channel_id: r.message_ts for r in deliveries.records(session)
                if r.week == WEEK and r.state == "sent"}
    assert sent == {ch: standin.posted(ch)[0]["ts"] for ch in CHANNELS.values()}
    clock.now = DUE + dt.timedelta(hours=1)
    assert poster.run_due() == []  # never twice
    assert all(len(posts) == 1 for posts in _posts(standin).values())


def test_the_posting_day_time_and_zone_are_the_teams(cli, teams, edge, standin, clock):
    cli("team", "edit", "VOJ-S", "--post-day", "wed", "--post-time", "16:30",
        "--timezone", "America/New_York")
    poster = _poster(edge, standin, clock)
    clock.now = DUE
    assert "VOJ-S" not in {o.team for o in _run(poster)}
    wednesday = dt.datetime(2025, 12, 17, 16, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    clock.now = wednesday - dt.timedelta(seconds=1)
    assert poster.run_due() == []
    clock.now = wednesday
    assert [(o.team, o.result) for o in poster.run_due()] == [("VOJ-S", "sent")]


def test_the_team_language_is_used(cli, teams, edge, standin, clock):
    cli("team", "edit", "VOJ-N", "--lang", "da")
    clock.now = DUE
    _poster(edge, standin, clock).run_due()
    (post,) = standin.posted(CHANNELS["VOJ-N"])
    assert "Ugens dashboard for team VOJ-N" in post["text"]


def test_after_downtime_due_weeks_are_caught_up_and_late_ones_skipped(teams, edge, standin,
                                                                       clock, caplog):
    clock.now = DUE + dt.timedelta(days=2, hours=23)  # within the 3 days' grace
    assert {o.result for o in _run(_poster(edge, standin, clock))} == {"sent"}
    # A week later the bot was down past the grace period of week 51.
    clock.now = DUE + dt.timedelta(days=7 + 3, minutes=1)
    with caplog.at_level(logging.WARNING, logger="bot.weekly_dashboard"):
        outcomes = _run(_poster(edge, standin, clock))
    assert sorted((o.team, o.week, o.result) for o in outcomes) == [
        (code, WEEK + 1, "skipped") for code in sorted(CHANNELS)]
    assert "skipped: not posted within 3 days" in caplog.text
    assert all(len(posts) == 1 for posts in _posts(standin).values())
    assert _poster(edge, standin, clock).run_due() == []  # skipped once, logged once


def test_a_crash_between_slacks_ok_and_the_commit_posts_nothing_twice(teams, edge, standin,
                                                                       clock):
    clock.now = DUE
    poster = _poster(edge, standin, clock)
    # A poster claims VOJ-N's dashboard, Slack posts it, and the poster dies before it
    # records the message.
    with edge.sessions.begin() as session:
        team_id = {p.code: p.id for p in poster.plans()}["VOJ-N"]
        dead = deliveries.claim(session, team_id, WEEK, "dead-poster", DUE,
                                dt.timedelta(minutes=15))
    assert dead is not None
    posted_ts = poster.gateway.post_marked(CHANNELS["VOJ-N"], poster.reply(
        poster.plans(["VOJ-N"])[0], WEEK), None, EVENT_TYPE, marker("VOJ-N", WEEK)["event_payload"])
    assert [o.result for o in _run(poster) if o.team == "VOJ-N"] == ["pending"]
    clock.now = DUE + dt.timedelta(minutes=16)  # the dead poster's lease has run out
    (outcome,) = [o for o in _run(poster) if o.team == "VOJ-N"]
    assert outcome.result == "found" and posted_ts in outcome.detail
    assert len(standin.posted(CHANNELS["VOJ-N"])) == 1


def test_server_errors_are_retried_without_posting_twice(teams, edge, standin, clock):
    clock.now = DUE
    standin.fail_after_doing_next("chat.postMessage")  # posted, but answered 500
    standin.server_error_next("files.getUploadURLExternal", times=2)
    standin.server_error_next("conversations.history", times=1, status=503)
    outcomes = _run(_poster(edge, standin, clock))
    assert all(len(posts) == 1 for posts in _posts(standin).values())
    assert {o.result for o in outcomes} <= {"sent", "later"}
    clock.now += dt.timedelta(minutes=1)
    _poster(edge, standin, clock).run_due()
    assert all(len(posts) == 1 for posts in _posts(standin).values())
    assert set(_states(edge).values()) == {"sent"}


def test_a_storm_of_429_and_5xx_loses_nothing_and_doubles_nothing(teams, edge, standin, clock):
    clock.now = DUE
    for _ in range(6):
        standin.rate_limit_next("chat.postMessage", retry_after=0)
    standin.server_error_next("chat.postMessage", times=30)  # more than one run retries
    for minute in range(12):
        clock.now = DUE + dt.timedelta(minutes=minute)
        _poster(edge, standin, clock).run_due()
    assert all(len(posts) == 1 for posts in _posts(standin).values())
    assert set(_states(edge).values()) == {"sent"}


def test_refusals_fail_once_and_the_admins_hear_of_it_once(cli, teams, edge, standin, clock):
    standin.not_in.add(CHANNELS["HAD-V"])
    standin.archived.add(CHANNELS["VOJ-S"])
    clock.now = DUE
    outcomes = {o.team: o for o in _run(_poster(edge, standin, clock))}
    assert (outcomes["HAD-V"].result, outcomes["HAD-V"].detail) == ("failed", "not_in_channel")
    assert (outcomes["VOJ-S"].result, outcomes["VOJ-S"].detail) == ("failed", "is_archived")
    told = [c for c in standin.of("chat.postMessage") if c.args["channel"] == ADMIN]
    assert len(told) == 2 and any("HAD-V" in c.args["text"] and "not_in_channel" in
                                  c.args["text"] for c in told)
    attempts = len(standin.of("chat.postMessage"))
    clock.now = DUE + dt.timedelta(hours=1)
    assert _poster(edge, standin, clock).run_due() == []  # not retried, not told again
    assert len(standin.of("chat.postMessage")) == attempts
    # Once the bot is invited, the admin posts it by hand.
    standin.not_in.discard(CHANNELS["HAD-V"])
    outcomes = _poster(edge, standin, clock).post(["HAD-V"], WEEK)
    assert [o.result for o in outcomes] == ["sent"] and len(standin.posted(CHANNELS["HAD-V"])) == 1


def test_two_posters_at_once_post_each_dashboard_once(teams, edge, standin, clock):
    import threading

    clock.now = DUE
    posters = [_poster(edge, standin, clock) for _ in range(2)]
    results: list = []
    threads = [threading.Thread(target=lambda p=p: results.extend(_run(p))) for p in posters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.team for o in results if o.result == "sent") == sorted(CHANNELS)
    assert all(len(posts) == 1 for posts in _posts(standin).values())


def test_post_weekly_dry_run_writes_images_and_messages(cli, teams, tmp_path):
    result = cli("post-weekly", "--week", "2025-W50", "--dry-run", "--out", tmp_path / "out")
    assert "Wrote 8 files for 2025-W50" in result.output
    message = json.loads((tmp_path / "out" / "VOJ-N.json").read_text("utf-8"))
    assert message["channel"] == CHANNELS["VOJ-N"] and message["metadata"] == marker("VOJ-N", WEEK)
    assert (tmp_path / "out" / "VOJ-N.png").read_bytes().startswith(b"\x89PNG")
    refused = cli("post-weekly", "--dry-run", ok=False)
    assert refused.exit_code == 2 and "--dry-run needs --out DIR" in refused.stderr


# -- the schedule, pure -----------------------------------------------------------------------

def test_due_moments_follow_daylight_saving_time():
    monday = PostingTime(0, parse_time("07:00"), "Europe/Copenhagen")
    # Winter: 07:00 CET is 06:00 UTC; summer: 07:00 CEST is 05:00 UTC.
    assert due_at(weeks.parse("2026-W12"), monday) == dt.datetime(2026, 3, 23, 6, tzinfo=dt.UTC)
    assert due_at(weeks.parse("2026-W13"), monday) == dt.datetime(2026, 3, 30, 5, tzinfo=dt.UTC)
    assert due_at(weeks.parse("2026-W43"), monday) == dt.datetime(2026, 10, 26, 6, tzinfo=dt.UTC)
    # Sunday 02:30 does not exist on 2026-03-29 in Copenhagen: it is taken as 03:30 CEST.
    sunday = PostingTime(6, parse_time("02:30"), "Europe/Copenhagen")
    assert due_at(weeks.parse("2026-W12"), sunday) == dt.datetime(2026, 3, 29, 1, 30,
                                                                   tzinfo=dt.UTC)
    # 02:30 happens twice on 2026-10-25: the first one counts.
    assert due_at(weeks.parse("2026-W42"), sunday) == dt.datetime(2026, 10, 25, 0, 30,
                                                                   tzinfo=dt.UTC)


def test_week_53_is_posted_in_the_first_week_of_the_next_year():
    monday = PostingTime(0, parse_time("07:00"), "Europe/Oslo")
    week_53 = weeks.parse("2026-W53")
    assert due_at(week_53, monday) == dt.datetime(2027, 1, 4, 6, tzinfo=dt.UTC)
    status = weeks_at(dt.datetime(2027, 1, 4, 6, 0, tzinfo=dt.UTC), monday, dt.timedelta(days=3))
    assert status.due == (week_53,) and status.expired == (week_53 - 1,)
    status = weeks_at(dt.datetime(2027, 1, 7, 6, 1, tzinfo=dt.UTC), monday, dt.timedelta(days=3))
    assert status.due == () and week_53 in status.expired
    assert weeks.label(week_53 + 1) == "2027-W01"


def test_every_moment_of_a_year_has_each_week_due_exactly_once_or_expired():
    """Stepping through 2026 hour by hour in Copenhagen, every week becomes due once, stays
    due for the grace period, then expires: no week is missed or due twice over DST."""
    when = PostingTime(6, parse_time("02:30"), "Europe/Copenhagen")
    grace = dt.timedelta(days=3)
    first_due: dict[int, dt.datetime] = {}
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while moment < dt.datetime(2027, 1, 15, tzinfo=dt.UTC):
        for week in weeks_at(moment, when, grace).due:
            first_due.setdefault(week, moment)
        moment += dt.timedelta(hours=1)
    expected = range(weeks.parse("2025-W52"), weeks.parse("2027-W01"))
    assert sorted(first_due) == list(expected)
    for week, moment in first_due.items():
        assert dt.timedelta(0) <= moment - due_at(week, when) < dt.timedelta(hours=1)


def test_admins_set_the_posting_time_from_slack(cli, teams, edge):
    from commands.context import Request
    from commands.dispatch import answer

    def admin(text: str):
        with edge.sessions.begin() as session:
            return answer(Request("/teampuls", text, ADMIN, CHANNELS["VOJ-N"]), session,
                          now=edge.now, default_language="en", admins=frozenset({ADMIN}))

    cli("team", "edit", "VOJ-N", "--lang", "da", "--timezone", "Europe/Oslo")
    reply = admin("admin schedule VOJ-N tirsdag 8.15")
    assert reply.text == ("Team VOJ-N får sit ugentlige dashboard hver tirsdag kl. 08:15 "
                          "(Europe/Oslo).")
    assert "VOJ-N" in cli("team", "list").output and "tue 08:15" in cli("team", "list").output
    refused = admin("admin schedule VOJ-N someday 8")
    assert refused.error and "/teampuls admin schedule VOJ-N mandag 07:00" in refused.text


# -- whole processes: killed and restarted, and two at once --------------------------------

def _post_weekly(edge, standin, **env):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TEAMPULS_", "DATABASE_URL"))}
    environment.update(DATABASE_URL=edge.settings.database_url, SLACK_BOT_TOKEN=TOKEN,
                       SLACK_API_BASE_URL=standin.base_url, TEAMPULS_LANGUAGE="en", **env)
    return subprocess.Popen([sys.executable, "-m", "bot", "post-weekly", "--week", "2025-W50"],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_posters_killed_mid_post_are_taken_over_at_once_and_post_each_dashboard_once(
        teams, edge, standin):
    """kill -9 while a call is held at the stand-in (a barrier, not a guess at timing): once
    after an image went up, once while the post itself is in flight (Slack still posts it).
    The rerun, with the default 15-minute lease, takes the dead posters' claims over at once:
    it finds the post that landed, posts the others, and says so."""
    edge.engine.dispose()
    for method in ("files.completeUploadExternal", "chat.postMessage"):
        standin.hold(method)
        process = _post_weekly(edge, standin)
        try:
            standin.wait_for(lambda m=method: standin.waiting(m), timeout=60)
            process.kill()  # SIGKILL: no clean-up of any kind
        finally:
            process.kill()
            process.communicate()
        with edge.sessions.begin() as session:
            assert any(r.state == "claimed" for r in deliveries.records(session))
        standin.release(method)  # Slack goes on with the calls of the dead poster
    final = _post_weekly(edge, standin)
    output, _ = final.communicate(timeout=120)
    assert final.returncode == 0, output
    assert "4 of 4 dashboards for 2025-W50 are posted." in output
    assert ": found" in output  # the post that landed while its poster died
    assert all(len(posts) == 1 for posts in _posts(standin).values()), output
    assert set(_states(edge).values()) == {"sent"} and len(_states(edge)) == len(CHANNELS)


def test_a_claim_held_elsewhere_is_reported_pending_with_when_it_is_retried(teams, edge,
                                                                              standin):
    from storage.claims import Claimant

    with edge.sessions.begin() as session:
        team_id = {p.code: p.id for p in WeeklyPoster(edge, None).plans()}["VOJ-N"]
        claimed_at = dt.datetime.now(dt.timezone.utc)
        assert deliveries.claim(session, team_id, WEEK, "other-host:4242:abcdef", claimed_at,
                                dt.timedelta(seconds=900),
                                Claimant("other-host", 4242, "boot/pid:[1]/123")) is not None
    edge.engine.dispose()
    process = _post_weekly(edge, standin)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert "3 of 4 dashboards for 2025-W50 are posted; 1 pending" in output
    retry = (claimed_at + dt.timedelta(seconds=900)).astimezone(CPH)
    assert (f"VOJ-N 2025-W50: pending (claimed by process 4242 on other-host at "
            f"{claimed_at.astimezone(CPH):%H:%M:%S}, not posted; tried again from "
            f"{retry:%Y-%m-%d %H:%M:%S %Z}, when its lease runs out)") in output
    assert standin.posted(CHANNELS["VOJ-N"]) == []


def test_a_dashboard_a_live_poster_here_is_posting_is_waited_for_not_counted_as_posted(
        teams, edge, standin):
    with edge.sessions.begin() as session:  # this test's process is the other poster
        team_id = {p.code: p.id for p in WeeklyPoster(edge, None).plans()}["VOJ-N"]
        claim = deliveries.claim(session, team_id, WEEK, "live-poster",
                                 dt.datetime.now(dt.timezone.utc), dt.timedelta(seconds=900))
    edge.engine.dispose()
    process = _post_weekly(edge, standin)
    try:
        standin.wait_for(lambda: sum(len(p) for p in _posts(standin).values()) == 3, timeout=60)
        assert process.poll() is None  # it waits for the one being posted here
        with edge.sessions.begin() as session:
            assert deliveries.mark_sent(session, claim, "live-poster", CHANNELS["VOJ-N"],
                                        "1765000000.000100", dt.datetime.now(dt.timezone.utc))
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 0, output
    assert "VOJ-N 2025-W50: already (posted earlier)" in output
    assert "4 of 4 dashboards for 2025-W50 are posted." in output


def test_two_replicas_started_at_once_post_each_dashboard_once(teams, edge, standin):
    edge.engine.dispose()
    processes = [_post_weekly(edge, standin) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    sent = [line for output in outputs for line in output.splitlines() if ": sent" in line]
    assert sorted(line.split()[0] for line in sent) == sorted(CHANNELS), outputs
    assert all(len(posts) == 1 for posts in _posts(standin).values())


def test_the_pacer_spaces_calls_within_slacks_limits():
    from bot.rate_limits import MARGIN

    moments: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep)
    for _ in range(101):  # Tier 4: 100 a minute
        pacer.wait("files.getUploadURLExternal")
        moments.append(clock[0])
    assert moments[-1] == pytest.approx(100 * 0.6 * MARGIN) and moments[100] >= 60
    start = clock[0]
    pacer.wait("chat.postMessage", "C1")
    pacer.wait("chat.postMessage", "C2")  # another channel: no wait
    assert clock[0] == start
    pacer.wait("chat.postMessage", "C1")
    assert clock[0] == pytest.approx(start + MARGIN)
    pacer.wait("auth.test")  # unlimited here
    assert clock[0] == pytest.approx(start + MARGIN)
