"""Reminders of follow-ups: on the due day, from the team's morning (default 07:00, in the
team's time zone), the responsible member gets a direct message with the follow-up and buttons
(done, a day later, a week later); an overdue one is repeated once a week, not every day.

Each reminder is claimed in the database before it is sent (``storage.goals.claim_reminder``),
so that several replicas remind once; one that cannot be sent is released and tried again at
the next run. A responsible who has left the team is not sent the text (it is the team's).
"""

from __future__ import annotations

import logging
import zoneinfo

from sqlalchemy import select

from bot.edge import Edge
from bot.gateway import Gateway
from commands.followup import follow_up_item
from commands.i18n import Translator
from commands.reply import Reply
from metrics.posting_schedule import parse_time
from storage.models import FollowUp, Team

log = logging.getLogger(__name__)
DEFAULT_MORNING = "07:00"


class Reminders:
    def __init__(self, edge: Edge, gateway: Gateway):
        self.edge = edge
        self.gateway = gateway

    def run_due(self) -> list[int]:
        """Send the reminders due now; returns the ids of the follow-ups reminded."""
        from storage import goals

        now = self.edge.current()
        sent: list[int] = []
        with self.edge.sessions.begin() as session:
            teams = [(t.id, t.code, t.timezone or self.edge.settings.timezone,
                      t.morning_time or DEFAULT_MORNING, t.language)
                     for t in session.scalars(select(Team).order_by(Team.code))]
        for team_id, code, zone, morning, language in teams:
            local = now.astimezone(zoneinfo.ZoneInfo(zone))
            if local.time() < parse_time(morning):
                continue
            today = local.date()
            with self.edge.sessions.begin() as session:
                candidates = goals.reminder_candidates(session, team_id, today)
            tr = Translator(language or self.edge.settings.language)
            for follow_up_id in candidates:
                with self.edge.sessions.begin() as session:
                    before = session.scalar(select(FollowUp.reminded_on).where(
                        FollowUp.id == follow_up_id))
                    follow_up = goals.claim_reminder(session, follow_up_id, today)
                    if follow_up is None:
                        continue
                    user = follow_up.responsible
                    if not goals.is_member(session, user, team_id):
                        log.warning("follow-up %d of %s: %s is no longer in the team; not "
                                    "reminded", follow_up_id, code, user)
                        continue
                    goals.audit(session, now, "system", "remind", "follow_up", follow_up_id,
                                team_id)
                    reply = Reply(tr("Reminder from team {team}:").format(team=code),
                                  items=(follow_up_item(follow_up, today, tr),))
                try:
                    self.gateway.direct_reply(user, reply)
                    sent.append(follow_up_id)
                except Exception:
                    log.exception("reminding %s of follow-up %d failed; tried again at the "
                                  "next run", user, follow_up_id)
                    with self.edge.sessions.begin() as session:
                        goals.unclaim_reminder(session, follow_up_id, before)
        return sent


def retention(edge: Edge, months: int) -> tuple[int, int, int]:
    """The daily clean-up: closed goals and follow-ups after ``months``, audit entries after
    six months."""
    from storage import goals

    with edge.sessions.begin() as session:
        removed = goals.purge(session, edge.current(), retention_days=round(months * 30.44))
    if any(removed):
        log.info("retention: removed %d closed goals, %d closed follow-ups, %d audit entries",
                 *removed)
    return removed

