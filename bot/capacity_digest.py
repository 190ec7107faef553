"""The back office's Monday message: for each back office user, their teams' coming
shortages per professional group, where staff could be shared, where to recruit, and the temp
rules broken (``commands.capacity``). Sent once a week from 08:00 in the default time zone,
once whatever the replicas; only to users with something to read."""

from __future__ import annotations

import datetime as dt

from bot.edge import Edge
from bot.gateway import Gateway
from bot.scheduler import monday_week, once_per_period
from bot.weekly_dashboard import poster_id

JOB = "capacity_digest"


class CapacityDigest:
    def __init__(self, edge: Edge, gateway: Gateway, *, poster: str | None = None):
        self.edge = edge
        self.gateway = gateway
        self.poster = poster or poster_id()
        self._lease = dt.timedelta(seconds=edge.settings.post_lease_seconds)

    def when_due(self) -> bool:
        week = monday_week(self.edge.current())
        if week is None:
            return False
        return once_per_period(self.edge, JOB, week, self.send, poster=self.poster,
                               lease=self._lease)

    def send(self) -> int:
        """One direct message per back office user with news; how many were sent."""
        from commands.capacity import digest_reply
        from commands.dispatch import interaction_context
        from storage.capacity import back_office_teams, back_office_users

        replies = {}
        with self.edge.sessions.begin() as session:
            for user in back_office_users(session):
                ctx = interaction_context(session, user, "", now=self.edge.current(),
                                          default_language=self.edge.settings.language)
                reply = digest_reply(back_office_teams(session, user), ctx)
                if reply is not None:
                    replies[user] = reply
        return sum(self.gateway.tell(user, reply, "the capacity digest")
                   for user, reply in replies.items())
