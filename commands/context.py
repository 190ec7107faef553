"""Who asks, from where, and what the answer may use: built once per command by the dispatcher
and handed to the handler (nothing below reads the clock or the environment)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from commands.i18n import Translator
from storage.kpi_cache import KpiReads
from storage.models import Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Request:
    """A command as typed: ``/kpi sygefravær uge 45`` in channel C… by user U…"""

    command: str  # "/kpi"
    text: str  # what follows the command
    user_id: str
    channel_id: str
    locale: str | None = None  # the user's Slack locale ("da-DK"), when known


@dataclass
class Context:
    request: Request
    session: Session  # in the transaction of this command
    now: dt.datetime  # aware
    tr: Translator
    team: Team | None  # of the channel, else the user's only team
    user_teams: list[Team]  # the teams whose channels the user is in; [] in a team's channel
    admins: frozenset[str]  # Slack user ids allowed to run admin commands
    reads: KpiReads  # KPI values, in the session's transaction (cached between requests)
    draw: Callable[[Figure], bytes]  # a chart's figure to PNG (on worker processes in the bot)
