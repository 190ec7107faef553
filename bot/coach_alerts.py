"""Coach alerts: after each import and once a day the drift detector (``metrics.drift``) runs
on every team's KPI series; each alert raised in the last complete week (or the one before,
after downtime) is stored once, and every coach of the team gets one direct message with the
chart and buttons — exactly once, by the weekly dashboard's rules: claimed before sending,
marked with Slack message metadata that an attempt after a crash looks for first, refusals
not retried. A weekly digest lists each coach's open signals; a monthly summary tells the
admins how coaches found the alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.edge import Edge
from bot.gateway import Gateway
from bot.slack_failures import Permanent, sorted_failure
from bot.weekly_dashboard import poster_id
from commands.dispatch import draw_here
from commands.i18n import Translator
from metrics import weeks
from storage.models import DriftAlert, KpiValue, KpiVersion, Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)
EVENT_TYPE = "teampuls_coach_alert"
RECENT_WEEKS = 2  # alerts raised in the last complete week or the one before are sent
SIGNAL_WEEKS = 8  # the digest's "open signals"
DAY = dt.timedelta(days=1)


class CoachAlerts:
    def __init__(self, edge: Edge, gateway: Gateway, *,
                 draw: Callable[[Figure], bytes] | None = None, poster: str | None = None):
        self.edge = edge
        self.gateway = gateway
        self.draw = draw or draw_here
        self.poster = poster or poster_id()
        self._lease = dt.timedelta(seconds=edge.settings.post_lease_seconds)
        self._seen_version: int | None = None
        self._last_run: dt.datetime | None = None

    # -- detection ----------------------------------------------------------------------------

    def when_due(self) -> list[int]:
        """Run after an import (the KPI version moved) or when a day has passed."""
        with self.edge.sessions.begin() as session:
            version = session.scalar(select(KpiVersion.version))
        now = self.edge.current()
        if version == self._seen_version and self._last_run and now - self._last_run < DAY:
            return []
        sent = self.run()
        self._seen_version, self._last_run = version, now
        return sent

    def detect(self) -> list[int]:
        """Run the detector; store the alerts of the recent weeks; the new alerts' ids."""
        from metrics import drift
        from storage import coach_alerts

        newest = weeks.last_complete(self.edge.current().date())
        with self.edge.sessions.begin() as session:
            frame = coach_alerts.series(session, tuple(drift.METRICS))
        if frame.empty:
            return []
        found = [coach_alerts.NewAlert(a.team, a.metric, a.week, a.start_week, a.baseline,
                                       a.current, a.spread, a.years_by_chance)
                 for a in drift.scan(frame) if a.week > newest - RECENT_WEEKS]
        with self.edge.sessions.begin() as session:
            new = coach_alerts.record(session, found, self.edge.current())
        for alert in found:
            log.info("drift: team %s, %s worse since %s (alert in %s)", alert.team,
                     alert.metric, weeks.label(alert.start_week), weeks.label(alert.week))
        return new

    def run(self) -> list[int]:
        """Detect, then send every recent alert not yet sent to each coach of its team."""
        from storage import coach_alerts

        self.detect()
        newest = weeks.last_complete(self.edge.current().date())
        with self.edge.sessions.begin() as session:
            pending = coach_alerts.unsent(session, newest - RECENT_WEEKS + 1)
        sent = []
        for alert_id, coach in pending:
            if self._deliver(alert_id, coach):
                sent.append(alert_id)
        return sent

    # -- one message --------------------------------------------------------------------------

    def _deliver(self, alert_id: int, coach: str) -> bool:
        from commands.coach_alert import alert_reply
        from storage import coach_alerts

        with self.edge.sessions.begin() as session:
            claim = coach_alerts.claim(session, alert_id, coach, self.poster,
                                       self.edge.current(), self._lease)
        if claim is None:
            return False
        payload = {"alert": str(alert_id), "coach": coach}
        try:
            channel = self.gateway.dm_channel(coach)
            if claim.attempts > 1:
                found = self.gateway.find_marked(channel, claim.first_claimed_at.timestamp() - 60,
                                                 EVENT_TYPE, payload)
                if found:
                    with self.edge.sessions.begin() as session:
                        coach_alerts.mark_sent(session, claim, self.poster, found)
                    return True
            with self.edge.sessions.begin() as session:
                alert = session.get(DriftAlert, alert_id)
                team = session.get(Team, alert.team_id)
                values = dict(session.execute(
                    select(KpiValue.week, KpiValue.value).where(
                        KpiValue.team_id == team.id, KpiValue.kpi == alert.metric,
                        KpiValue.week > alert.week - 60, KpiValue.week <= alert.week)).all())
                tr = Translator(team.language or self.edge.settings.language)
                reply = alert_reply(alert, team, claim.id, values, tr, self.draw)
            file_id = self.gateway.upload_image(reply.chart.png, reply.chart.filename,
                                                reply.chart.title)
            ts = self.gateway.post_marked(channel, reply, file_id, EVENT_TYPE, payload)
        except Exception as error:
            failure = sorted_failure(error)
            with self.edge.sessions.begin() as session:
                if isinstance(failure, Permanent):
                    coach_alerts.mark_failed(session, claim, self.poster, failure.code)
                    log.error("the alert %d cannot be sent to %s: Slack said %s", alert_id,
                              coach, failure.code)
                else:
                    coach_alerts.release(session, claim, self.poster, str(failure or error))
                    log.warning("the alert %d to %s is tried again (%s)", alert_id, coach,
                                failure or error, exc_info=failure is None)
            return False
        with self.edge.sessions.begin() as session:
            coach_alerts.mark_sent(session, claim, self.poster, ts)
        return True

    # -- digests ------------------------------------------------------------------------------

    def digests_when_due(self) -> None:
        """The weekly digest on Monday from 08:00, the usefulness summary on the first of the
        month from 08:00 (in the default time zone): each once, whatever the replicas."""
        from bot.scheduler import DIGEST_HOUR, monday_week, once_per_period

        now = self.edge.current()
        if now.hour < DIGEST_HOUR:
            return
        due = []
        if (week := monday_week(now)) is not None:
            due.append(("coach_digest", week, self.weekly_digest))
        if now.day == 1:
            due.append(("alert_usefulness", f"{now:%Y-%m}", self.usefulness_summary))
        for job, period, run in due:
            once_per_period(self.edge, job, period, run, poster=self.poster, lease=self._lease)

    def weekly_digest(self) -> int:
        """One message per coach with their teams' open signals; how many were sent."""
        from commands.coach_alert import digest_reply
        from storage import coach_alerts

        newest = weeks.last_complete(self.edge.current().date())
        sent = 0
        with self.edge.sessions.begin() as session:
            per_coach = {coach: coach_alerts.open_signals(session, coach,
                                                          newest - SIGNAL_WEEKS + 1)
                         for coach in coach_alerts.coaches(session)}
            replies = {coach: digest_reply(signals, Translator(self.edge.settings.language))
                       for coach, signals in per_coach.items() if signals}
        for coach, reply in replies.items():
            sent += self.gateway.tell(coach, reply, "the weekly digest")
        return sent

    def usefulness_summary(self) -> int:
        from commands.coach_alert import usefulness_reply
        from storage import coach_alerts

        with self.edge.sessions.begin() as session:
            counts = coach_alerts.usefulness(session, self.edge.current() - 30 * DAY)
        reply = usefulness_reply(counts, Translator(self.edge.settings.language))
        return sum(self.gateway.tell(admin, reply, "the monthly alert summary")
                   for admin in sorted(self.edge.settings.admins))
