"""The weekly dashboard: every team's dashboard of the last complete week, posted in its channel
at its posting time for its rapporter, exactly once.

Each post goes through a delivery record (``storage.deliveries``): claimed before anything is
sent, marked with the message's timestamp after. A post carries Slack message metadata (the
team and the week), so that an attempt after a crash between Slack's OK and the commit, or
after a server error that left it unclear whether Slack posted, first looks in the channel's
history and finds the message instead of posting it again.

Slack's answers:
- 429: the client waits for Retry-After and tries again (Slack did nothing);
- 5xx, a timeout or a broken connection: up to ``SERVER_RETRIES`` more tries with backoff,
  each after looking for the post; then the delivery is released, and the next run (a minute
  later) takes it up again within the grace period;
- a refusal (``bot.slack_failures``: not_in_channel, is_archived, invalid_auth, ...): not retried;
  the delivery is marked failed, logged, and the admins get one direct message.

Posting runs on a thread pool across channels; the gateway's pacer keeps the calls within
Slack's published rate limits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import pathlib
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.edge import Edge
from bot.gateway import Gateway
from bot.logs import error_classes
from bot.slack_failures import Passing, Permanent, sorted_failure
from metrics.posting_schedule import PostingTime, weeks_at
from commands.i18n import Translator
from commands.reply import Reply
from metrics import weeks
from storage import deliveries
from storage.kpi_cache import KpiCache
from storage.models import Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

EVENT_TYPE = "teampuls_weekly_dashboard"
SERVER_RETRIES = 4
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0)
POST_WORKERS = 16
POSTED = ("sent", "found", "already")  # outcomes of a dashboard that is in its channel
SETTLE_SECONDS = 0.25  # how often ``post`` looks at a dashboard another live poster is posting
@dataclass(frozen=True)
class TeamPlan:
    id: int
    code: str
    channel: str | None  # the first linked channel
    when: PostingTime


@dataclass(frozen=True)
class Outcome:
    team: str
    week: int
    result: str  # sent, found, already, pending, failed, later, skipped, no channel
    detail: str = ""
    # pending: the claim's holder is alive on this host (it may finish any moment)
    holder_alive: bool = dataclasses.field(default=False, compare=False)

    def describe(self) -> str:
        text = f"{self.team} {weeks.label(self.week)}: {self.result}"
        return f"{text} ({self.detail})" if self.detail else text


def marker(team: str, week: int) -> dict:
    """The message metadata that marks the weekly post of ``team`` for ``week``."""
    return {"event_type": EVENT_TYPE, "event_payload": {"team": team, "week": weeks.label(week)}}


def write_dashboards(edge: Edge, codes: Iterable[str] | None, week: int,
                     folder: pathlib.Path) -> list[pathlib.Path]:
    """Each team's weekly post as ``CODE.png`` (the image) and ``CODE.json`` (the message:
    channel, text, Block Kit blocks with the image's place, metadata), without Slack."""
    from bot.blocks import message_blocks, plain_text

    poster = WeeklyPoster(edge, gateway=None)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for plan in poster.plans(codes):
        reply = poster.reply(plan, week)
        image = folder / f"{plan.code}.png"
        message = {"channel": plan.channel, "text": plain_text(reply),
                   "blocks": message_blocks(reply, f"<{image.name}>" if reply.chart else None),
                   "metadata": marker(plan.code, week)}
        path = folder / f"{plan.code}.json"
        path.write_text(json.dumps(message, ensure_ascii=False, indent=2), encoding="utf-8")
        written.append(path)
        if reply.chart is not None:
            image.write_bytes(reply.chart.png)
            written.append(image)
    return written


def poster_id() -> str:
    """A name for this process among the replicas, as claims record it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WeeklyPoster:
    def __init__(self, edge: Edge, gateway: Gateway | None, *, poster: str | None = None,
                 draw: Callable[[Figure], bytes] | None = None, cache: KpiCache | None = None,
                 sleep: Callable[[float], None] = time.sleep, workers: int = POST_WORKERS):
        self.edge = edge
        self.gateway = gateway
        self.poster = poster or poster_id()
        self.draw = draw
        self.cache = cache
        self.sleep = sleep
        self.workers = workers
        # A claim older than this is taken to be a crashed poster's.
        self._lease = dt.timedelta(seconds=edge.settings.post_lease_seconds)

    # -- which teams and weeks ----------------------------------------------------------------

    def plans(self, codes: Iterable[str] | None = None) -> list[TeamPlan]:
        from storage.teams import get_team

        default_zone = self.edge.settings.timezone
        with self.edge.sessions.begin() as session:
            if codes is None:
                teams = session.scalars(select(Team).order_by(Team.code)
                                        .options(selectinload(Team.channels))).all()
            else:
                teams = [get_team(session, code) for code in codes]
            return [TeamPlan(t.id, t.code, t.channels[0].channel_id if t.channels else None,
                             PostingTime.of(t.post_weekday, t.post_time,
                                            t.timezone or default_zone))
                    for t in teams]

    def run_due(self) -> list[Outcome]:
        """Post every dashboard that is due now (catching up after downtime within the grace
        period) and skip the weeks whose grace period has passed."""
        now = self.edge.current()
        grace = dt.timedelta(days=self.edge.settings.post_grace_days)
        plans = self.plans()
        status = {plan.id: weeks_at(now, plan.when, grace) for plan in plans}
        considered = sorted({w for s in status.values() for w in s.due + s.expired})
        with self.edge.sessions.begin() as session:
            known = deliveries.states(session, considered)
        outcomes: list[Outcome] = []
        jobs: list[tuple[TeamPlan, int]] = []
        for plan in plans:
            for week in status[plan.id].expired:
                if known.get((plan.id, week)) in deliveries.FINAL:
                    continue
                with self.edge.sessions.begin() as session:
                    recorded = deliveries.skip(session, plan.id, week,
                                               "not posted within the grace period", now)
                if recorded:
                    log.warning("weekly dashboard of %s for %s skipped: not posted within %g "
                                "days of %s", plan.code, weeks.label(week),
                                self.edge.settings.post_grace_days, plan.when.describe())
                    outcomes.append(Outcome(plan.code, week, "skipped", "grace period passed"))
            for week in status[plan.id].due:
                if known.get((plan.id, week)) in deliveries.FINAL:
                    continue
                if plan.channel is None:
                    log.debug("team %s has no channel for its weekly dashboard", plan.code)
                    continue
                jobs.append((plan, week))
        return outcomes + self._post_all(jobs)

    def run_and_log(self) -> list[Outcome]:
        """``run_due`` as the scheduler runs it: what happened goes to the log."""
        outcomes = self.run_due()
        for outcome in outcomes:
            level = logging.INFO if outcome.result in POSTED + ("pending",) else logging.WARNING
            log.log(level, "weekly dashboard %s", outcome.describe())
        return outcomes

    def post(self, codes: Iterable[str] | None, week: int) -> list[Outcome]:
        """Post ``week``'s dashboard of these teams (all by default) now, whatever the
        schedule says; a dashboard sent already is not sent again, a failed or skipped one is
        tried again."""
        plans = self.plans(codes)
        with self.edge.sessions.begin() as session:
            for plan in plans:
                deliveries.retry_failed(session, plan.id, week)
        outcomes = [Outcome(p.code, week, "no channel") for p in plans if p.channel is None]
        jobs = [(p, week) for p in plans if p.channel is not None]
        return outcomes + self._settle(jobs, self._post_all(jobs))

    def _settle(self, jobs: list[tuple[TeamPlan, int]], outcomes: list[Outcome]) -> list[Outcome]:
        """Wait for the dashboards that another poster on this host is posting right now, until
        they are posted or that poster is gone (then they are taken over and posted here); a
        claim of a poster elsewhere is reported pending, with when it will be tried again."""
        deadline = time.monotonic() + self._lease.total_seconds()
        settled = list(outcomes)
        for n, ((plan, week), outcome) in enumerate(zip(jobs, outcomes, strict=True)):
            while outcome.holder_alive and time.monotonic() < deadline:
                self.sleep(SETTLE_SECONDS)
                outcome = self._deliver(plan, week)
            settled[n] = outcome
        return settled

    # -- posting ------------------------------------------------------------------------------

    def _post_all(self, jobs: list[tuple[TeamPlan, int]]) -> list[Outcome]:
        if not jobs:
            return []
        if self.workers <= 1 or len(jobs) == 1:
            return [self._deliver(plan, week) for plan, week in jobs]
        with ThreadPoolExecutor(min(self.workers, len(jobs)),
                                thread_name_prefix="teampuls-post") as pool:
            return list(pool.map(lambda job: self._deliver(*job), jobs))

    def _deliver(self, plan: TeamPlan, week: int) -> Outcome:
        now = self.edge.current()
        with self.edge.sessions.begin() as session:
            claim = deliveries.claim(session, plan.id, week, self.poster, now, self._lease)
        if claim is None:
            return self._held(plan, week)
        try:
            return self._attempt(plan, claim)
        except Permanent as refusal:
            return self._failed(plan, claim, refusal.code)
        except Exception as error:  # passing, or unexpected: the next run tries again
            # A Passing reason is ours (Slack's status and code); any other error's message
            # may hold data (SQL parameters), so only its classes are logged and kept.
            reason = str(error) if isinstance(error, Passing) else error_classes(error)
            log.warning("weekly dashboard of %s for %s not posted this time (%s); it is tried "
                        "again", plan.code, weeks.label(week), reason,
                        exc_info=not isinstance(error, Passing))
            with self.edge.sessions.begin() as session:
                deliveries.release(session, claim, self.poster, reason)
            return Outcome(plan.code, week, "later", reason)

    def _held(self, plan: TeamPlan, week: int) -> Outcome:
        """What became of a dashboard that could not be claimed: posted (or failed, or
        skipped) already, or claimed by another poster that is alive or may be."""
        with self.edge.sessions.begin() as session:
            hold = deliveries.hold(session, plan.id, week, self._lease)
        if hold is None:  # pragma: no cover - a claim always leaves a record
            return Outcome(plan.code, week, "later", "no delivery record")
        if hold.state == "sent":
            return Outcome(plan.code, week, "already", "posted earlier")
        if hold.state in ("failed", "skipped"):
            return Outcome(plan.code, week, hold.state, "recorded by another poster")
        if hold.state != "claimed":
            return Outcome(plan.code, week, "pending", "released by another poster; "
                                                        "tried again at the next run")
        who = hold.claimant.describe() if hold.claimant else "another poster"
        zone = self.edge.current().tzinfo
        retry = f"{hold.retry_at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"
        if hold.alive:
            detail = (f"being posted by {who} since {hold.since.astimezone(zone):%H:%M:%S}; "
                      f"if it stops, tried again from {retry}")
        else:
            detail = (f"claimed by {who} at {hold.since.astimezone(zone):%H:%M:%S}, not "
                      f"posted; tried again from {retry}, when its lease runs out")
        return Outcome(plan.code, week, "pending", detail, holder_alive=hold.alive)

    def _attempt(self, plan: TeamPlan, claim: deliveries.Claim) -> Outcome:
        payload = marker(plan.code, claim.week)["event_payload"]
        since = claim.first_claimed_at.timestamp() - 60
        if claim.attempts > 1:  # an earlier attempt may have posted before it died
            found = self._slack(lambda: self.gateway.find_marked(
                plan.channel, since, EVENT_TYPE, payload))
            if found:
                self._mark_sent(plan, claim, found)
                return Outcome(plan.code, claim.week, "found", f"ts {found}")
        reply = self.reply(plan, claim.week)
        file_id = claim.file_id
        if reply.chart is not None and file_id is None:
            file_id = self._slack(lambda: self.gateway.upload_image(
                reply.chart.png, reply.chart.filename, reply.chart.title), retry=True)
            with self.edge.sessions.begin() as session:
                deliveries.mark_uploaded(session, claim, self.poster, file_id)
        ts = self._post(plan, reply, file_id, payload, since)
        self._mark_sent(plan, claim, ts)
        return Outcome(plan.code, claim.week, "sent", f"ts {ts}")

    def reply(self, plan: TeamPlan, week: int) -> Reply:
        """The team's weekly dashboard, in its language."""
        from commands.dashboard import dashboard
        from commands.dispatch import team_context

        with self.edge.sessions.begin() as session:
            ctx = team_context(session, plan.code, now=self.edge.current(),
                               default_language=self.edge.settings.language,
                               cache=self.cache, draw=self.draw)
            return dashboard(plan.code, week, ctx)

    def _post(self, plan: TeamPlan, reply: Reply, file_id: str | None, payload: dict,
              since: float) -> str:
        """Post once: after an unclear failure, look for the post before trying again."""
        for attempt in range(SERVER_RETRIES + 1):
            if attempt:
                self.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
                found = self._slack(lambda: self.gateway.find_marked(
                    plan.channel, since, EVENT_TYPE, payload))
                if found:
                    return found
            try:
                return self._slack(lambda: self.gateway.post_marked(
                    plan.channel, reply, file_id, EVENT_TYPE, payload))
            except Passing as error:
                log.info("posting the dashboard of %s: %s (try %d of %d)", plan.code, error,
                         attempt + 1, SERVER_RETRIES + 1)
        raise Passing(f"Slack failed {SERVER_RETRIES + 1} times")

    def _slack(self, call: Callable[[], str | None], retry: bool = False) -> str | None:
        """Run a Web API call, sorting its failures into permanent and passing ones; with
        ``retry`` (calls that may safely be repeated), passing ones are retried with backoff."""
        for attempt in range(SERVER_RETRIES + 1 if retry else 1):
            if attempt:
                self.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
            try:
                return call()
            except Exception as error:
                failure = sorted_failure(error)
                if failure is None:
                    raise
                if isinstance(failure, Permanent):
                    raise failure from None
        raise failure

    def _mark_sent(self, plan: TeamPlan, claim: deliveries.Claim, ts: str) -> None:
        with self.edge.sessions.begin() as session:
            kept = deliveries.mark_sent(session, claim, self.poster, plan.channel, ts,
                                        self.edge.current())
        if not kept:
            log.error("the claim on the dashboard of %s for %s was taken over while it was "
                      "posted (ts %s): the lease of %s was too short", plan.code,
                      weeks.label(claim.week), ts, self._lease)

    def _failed(self, plan: TeamPlan, claim: deliveries.Claim, code: str) -> Outcome:
        with self.edge.sessions.begin() as session:
            first = deliveries.mark_failed(session, claim, self.poster, code, self.edge.current())
        log.error("weekly dashboard of %s for %s cannot be posted in %s: Slack said %s",
                  plan.code, weeks.label(claim.week), plan.channel, code)
        if first:
            self._tell_admins(plan, claim.week, code)
        return Outcome(plan.code, claim.week, "failed", code)

    def _tell_admins(self, plan: TeamPlan, week: int, code: str) -> None:
        tr = Translator(self.edge.settings.language)
        text = tr("The weekly dashboard of team {team} for {week} could not be posted in "
                  "<#{channel}>: Slack said {error}. Invite the bot to the channel or link "
                  "another one, then post it with: teampuls post-weekly --team {team} "
                  "--week {week_label}").format(
                      team=plan.code, week=tr.week(weeks.label(week)), channel=plan.channel,
                      error=code, week_label=weeks.label(week))
        for admin in sorted(self.edge.settings.admins):
            self.gateway.tell(admin, Reply(text), f"the notice that the dashboard of {plan.code} "
                              "failed")
