"""From a typed command to a Reply: find the team and the language, parse, handle, and turn
a user's mistake into a clear, private, translated answer. The Slack listeners and the console
both come through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from commands import capacity, dashboard, followup, goal, kpi, teampuls
from commands.context import Context, Request
from commands.i18n import LANGUAGES, N_, Translator
from commands.reply import Reply, UsageError
from storage.kpi_cache import KpiCache, KpiReads
from storage.national_ids import looks_like_national_id

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COMMANDS = {"/kpi": kpi, "/dashboard": dashboard, "/goal": goal, "/followup": followup,
            "/capacity": capacity, "/teampuls": teampuls}


def reads_only(command: str) -> bool:
    """Whether answering ``command`` never writes (its module says ``READS_ONLY = True``): its
    transaction need not take the write lock (see ``storage.database``)."""
    return getattr(COMMANDS.get(command), "READS_ONLY", False)


def language_of_locale(locale: str | None) -> str | None:
    """da for "da-DK", nb for "nb-NO", "no" and "nn-NO" (Slack offers Norwegian as Bokmål),
    en for any English; None for the rest."""
    if not locale:
        return None
    base = locale.replace("_", "-").split("-")[0].casefold()
    base = {"no": "nb", "nn": "nb"}.get(base, base)
    return base if base in LANGUAGES else None


def answer(request: Request, session: Session, *, now: dt.datetime, default_language: str,
           admins: frozenset[str], cache: KpiCache | None = None,
           draw: Callable[[Figure], bytes] | None = None) -> Reply:
    """``cache`` keeps KPI reads between requests (the bot has one); without it every read
    goes to the database. ``draw`` turns a chart's figure into PNG (here, unless the caller
    draws elsewhere)."""
    from storage.queries import session_fetch
    from storage.teams import team_of_channel, teams_of_user

    module = COMMANDS.get(request.command)
    channel_team = team_of_channel(session, request.channel_id)
    # The user's teams matter only where the channel names none.
    user_teams = [] if channel_team else teams_of_user(session, request.user_id)
    team = channel_team or (user_teams[0] if len(user_teams) == 1 else None)
    language = (language_of_locale(request.locale)
                or (team.language if team is not None else None) or default_language)
    tr = Translator(language)
    if module is None:
        return Reply(tr("I don't know the command {command}. Try /teampuls help.").format(
            command=request.command), error=True)
    if looks_like_national_id(request.text):
        # Never parsed, stored or shown back (contract section 4).
        return Reply(tr(N_("This looks like a CPR number or fødselsnummer. Never write those "
                           "here; use the citizen's reference (e.g. B-10442).")), error=True)
    ctx = Context(request, session, now, tr, team, user_teams, admins,
                  KpiReads(session_fetch(session), cache), draw or draw_here)
    try:
        with session.begin_nested():  # a refused request leaves nothing half done
            return module.handle(module.parse(request.text), ctx)
    except UsageError as error:
        return Reply(error.render(tr), error=True)


def interaction_context(session: Session, user: str, channel: str, *, now: dt.datetime,
                        default_language: str, locale: str | None = None,
                        team_id: int | None = None) -> Context:
    """The context of a form's answers or a button: the user's language, else the team's."""
    from storage.models import Team
    from storage.queries import session_fetch

    team = session.get(Team, team_id) if team_id is not None else None
    language = (language_of_locale(locale) or (team.language if team is not None else None)
                or default_language)
    return Context(Request("", "", user, channel, locale), session, now, Translator(language),
                   team, [], frozenset(), KpiReads(session_fetch(session), None), draw_here)


def on_form(kind: str, state: str, values: dict[str, str | None], ctx: Context) -> Reply:
    """A form's answers (raises ``commands.forms.FormErrors`` for the form to show)."""
    from commands import forms

    try:
        return forms.submit(kind, forms.form_state(state), values, ctx)
    except UsageError as error:
        return Reply(error.render(ctx.tr), error=True)


def on_button(action: str, value: str, ctx: Context) -> Reply:
    from commands import forms

    try:
        with ctx.session.begin_nested():
            return forms.press(action, value, ctx)
    except UsageError as error:
        return Reply(error.render(ctx.tr), error=True)


def team_context(session: Session, team_code: str, *, now: dt.datetime, default_language: str,
                 cache: KpiCache | None = None,
                 draw: Callable[[Figure], bytes] | None = None) -> Context:
    """The context of what the bot says to a team by itself (the weekly dashboard): the team's
    language, no one asking."""
    from storage.queries import session_fetch
    from storage.teams import get_team

    team = get_team(session, team_code)
    channel = team.channels[0].channel_id if team.channels else ""
    return Context(Request("", "", "", channel), session, now,
                   Translator(team.language or default_language), team, [], frozenset(),
                   KpiReads(session_fetch(session), cache), draw or draw_here)


def draw_here(figure: Figure) -> bytes:
    """A chart's figure to PNG, in this process."""
    from charts.render import to_png  # matplotlib loads with the first chart

    return to_png(figure)
