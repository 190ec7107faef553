"""The Slack app: listeners that acknowledge at once and answer on a worker pool.

Slack wants an acknowledgement within 3 seconds. Listeners only ``ack()`` and hand the command
to the answer pool, so an ack never waits on the database or a chart; the answer (database,
chart, upload) follows on one of the pool's threads.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.blocks import FORM_CALLBACK, form_values, form_view, home_view
from bot.drawing import Drawing
from bot.edge import Edge
from bot.gateway import Gateway
from commands.context import Request
from commands.dispatch import COMMANDS, answer, language_of_locale, reads_only
from commands.i18n import Translator
from commands.reply import Reply
from storage.kpi_cache import KpiCache

log = logging.getLogger(__name__)

ACK_WORKERS = 64  # listeners only ack, so many can run at once
ANSWER_WORKERS = 8  # answers use the database and draw charts
LOCALE_SECONDS = 3600  # how long a user's Slack locale is trusted
ACK_SWITCH_INTERVAL = 0.001  # seconds a thread may hold Python's lock while others wait


class Bot:
    """What the listeners share: the edge, the gateway, the answer pool and a locale cache."""

    def __init__(self, edge: Edge, gateway: Gateway, drawing: Drawing | None = None):
        self.edge = edge
        self.gateway = gateway
        self.drawing = drawing
        self.answers = ThreadPoolExecutor(ANSWER_WORKERS, thread_name_prefix="teampuls-answer")
        self.kpis = KpiCache()
        self._warmed: int | None = None  # the kpi_version of the last warm-up
        self._warming = threading.Lock()
        self._locales: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    # -- commands -----------------------------------------------------------------------------

    def command(self, body: dict) -> None:
        """Answer a slash command (on the answer pool); every failure is logged and told."""
        request = Request(body["command"], body.get("text", ""), body["user_id"],
                          body["channel_id"], None)
        response_url = body.get("response_url")
        trigger_id = body.get("trigger_id")
        try:
            request = dataclasses.replace(request, locale=self.locale(request.user_id))
            settings = self.edge.settings
            sessions = self.edge.reads if reads_only(request.command) else self.edge.sessions
            with sessions.begin() as session:
                reply = answer(request, session, now=self.edge.current(),
                               default_language=settings.language, admins=settings.admins,
                               cache=self.kpis,
                               draw=self.drawing.png if self.drawing else None)
            if reply.form is not None and trigger_id:
                self.gateway.open_view(trigger_id, form_view(reply.form))
            else:
                self.gateway.deliver(reply, channel=request.channel_id, user=request.user_id,
                                     response_url=response_url)
            if reply.sync_channels:
                self.sync_members(reply.sync_channels)
            if self.kpis.newest_version != self._warmed:  # an import since: warm up again
                self.answers.submit(self.warm_kpis)
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.exception("answering %s %r for %s failed (incident %s)", request.command,
                          request.text, request.user_id, incident)
            self._tell_failure(request, response_url, incident)

    def _tell_failure(self, request: Request, response_url: str | None, incident: str) -> None:
        tr = Translator(language_of_locale(request.locale) or self.edge.settings.language)
        reply = Reply(tr("Sorry, something went wrong on our side. It has been logged as "
                         "incident {incident}; please try again in a moment.").format(
                             incident=incident), error=True)
        try:
            if response_url:
                self.gateway.respond(response_url, reply)
            else:
                self.gateway.deliver(reply, channel=request.channel_id, user=request.user_id,
                                     response_url=None)
        except Exception:
            log.exception("could not tell %s about incident %s", request.user_id, incident)

    def locale(self, user: str) -> str | None:
        """The user's Slack locale (users.info), cached; None when Slack does not say."""
        now = time.monotonic()
        with self._lock:
            cached = self._locales.get(user)
        if cached is not None and now - cached[0] < LOCALE_SECONDS:
            return cached[1]
        try:
            locale = self.gateway.user_locale(user)
        except Exception:
            log.warning("users.info for %s failed; answering in the team's language", user,
                        exc_info=True)
            return None
        with self._lock:
            self._locales[user] = (now, locale)
        return locale

    def warm_kpis(self) -> None:
        """Fill the KPI cache with what every team's answers share (``commands.kpi.warm``),
        and load the chart modules that build the figures (matplotlib takes a second)."""
        import charts.kpi_overview  # noqa: F401
        import charts.kpi_trend  # noqa: F401
        import charts.team_comparison  # noqa: F401
        from commands.kpi import warm
        from storage.kpi_cache import KpiReads
        from storage.queries import session_fetch

        if not self._warming.acquire(blocking=False):
            return  # one warm-up at a time
        try:
            with self.edge.reads.begin() as session:
                reads = KpiReads(session_fetch(session), self.kpis)
                if reads.version != self._warmed:
                    warm(reads, self.edge.current())
                    self._warmed = reads.version
        except Exception:
            log.exception("warming the KPI cache failed; answers read the database")
        finally:
            self._warming.release()

    # -- forms, buttons and the App Home ------------------------------------------------------

    def form(self, ack, body: dict) -> None:
        """A submitted form, answered within the acknowledgement: errors go back to the form,
        beside their fields; a saved form closes, and a private note confirms it."""
        from commands.dispatch import interaction_context, on_form
        from commands.forms import FormErrors, form_state

        view, user = body["view"], body["user"]["id"]
        state = form_state(view.get("private_metadata", ""))
        channel = state.get("channel", "")
        try:
            with self.edge.sessions.begin() as session:
                ctx = interaction_context(
                    session, user, channel, now=self.edge.current(),
                    default_language=self.edge.settings.language, locale=self.locale(user),
                    team_id=int(state["team"]))
                reply = on_form(state.get("kind", ""), view.get("private_metadata", ""),
                                form_values(view), ctx)
        except FormErrors as refused:
            ack(response_action="errors", errors=refused.errors)
            return
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.exception("a form of %s could not be saved (incident %s)", user, incident)
            tr = Translator(language_of_locale(self.locale(user)) or self.edge.settings.language)
            first_field = next(iter(form_values(view)), "")
            ack(response_action="errors", errors={first_field: tr(
                "Sorry, something went wrong on our side. It has been logged as incident "
                "{incident}; please try again in a moment.").format(incident=incident)})
            return
        ack()
        self.answers.submit(_logged(self._confirm), reply, channel, user)

    def _confirm(self, reply: Reply, channel: str, user: str) -> None:
        try:
            self.gateway.deliver(reply, channel=channel, user=user, response_url=None)
        except Exception:
            log.warning("confirming a form to %s in %s failed; sent as a direct message",
                        user, channel, exc_info=True)
            self.gateway.direct_reply(user, reply)

    def button(self, body: dict) -> None:
        from commands.dispatch import interaction_context, on_button

        action, user = body["actions"][0], body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or \
            (body.get("container") or {}).get("channel_id") or ""
        with self.edge.sessions.begin() as session:
            ctx = interaction_context(session, user, channel, now=self.edge.current(),
                                      default_language=self.edge.settings.language,
                                      locale=self.locale(user))
            reply = on_button(action["action_id"], action.get("value", "0"), ctx)
        for channel_id, note in reply.channel_notes:
            self.gateway.post_note(channel_id, note)
        if reply.form is not None:
            self.gateway.open_view(body["trigger_id"], form_view(reply.form))
        elif body.get("response_url"):
            self.gateway.respond(body["response_url"], reply)
        else:
            self.gateway.direct_reply(user, reply)
        if (body.get("view") or {}).get("type") == "home":
            self.home(user)

    def home(self, user: str) -> None:
        from commands.dispatch import interaction_context
        from commands.home import home

        with self.edge.sessions.begin() as session:
            ctx = interaction_context(session, user, "", now=self.edge.current(),
                                      default_language=self.edge.settings.language,
                                      locale=self.locale(user))
            reply = home(ctx)
        self.gateway.publish_home(user, home_view(reply))

    # -- team membership ----------------------------------------------------------------------

    def sync_members_logged(self) -> None:
        """``sync_members`` as the start-up thread runs it: a failure goes to the log."""
        try:
            self.sync_members()
        except Exception:
            log.exception("reading the members of the linked channels failed")

    def sync_members(self, channels=None) -> None:
        """Read the members of linked channels (all of them by default) from Slack."""
        from storage.teams import linked_channels, set_channel_members

        if channels is None:
            with self.edge.reads.begin() as session:
                channels = linked_channels(session)
        for channel in channels:
            try:
                members = self.gateway.channel_members(channel)
            except Exception:
                log.warning("cannot read the members of %s", channel, exc_info=True)
                continue
            with self.edge.sessions.begin() as session:
                set_channel_members(session, channel, members)
        log.info("read the members of %d linked channel(s)", len(channels))

    def member_joined(self, event: dict) -> None:
        from storage.teams import add_channel_member

        with self.edge.sessions.begin() as session:
            add_channel_member(session, event["channel"], event["user"])

    def member_left(self, event: dict) -> None:
        from storage.teams import remove_channel_member

        with self.edge.sessions.begin() as session:
            remove_channel_member(session, event["channel"], event["user"])


def create_app(edge: Edge, gateway: Gateway, drawing: Drawing | None = None) -> tuple[App, Bot]:
    """The bolt app and what its listeners share; ``drawing`` draws charts on worker processes
    (without it, on the answer threads)."""
    settings = edge.settings
    bot = Bot(edge, gateway, drawing)
    app = App(
        client=gateway.client,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=bool(settings.slack_signing_secret),
        token_verification_enabled=False,  # checked once at start-up with auth.test
        listener_executor=ThreadPoolExecutor(ACK_WORKERS, thread_name_prefix="teampuls-ack"),
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )

    def on_command(ack, body):
        ack()
        bot.answers.submit(bot.command, body)

    for name in COMMANDS:
        app.command(name)(on_command)

    @app.view(FORM_CALLBACK)
    def on_form(ack, body):
        bot.form(ack, body)

    @app.action(re.compile(r"^(followup|goal|drift)_"))
    def on_button(ack, body):
        ack()
        bot.answers.submit(_logged(bot.button), body)

    @app.event("app_home_opened")
    def on_home(ack, event):
        ack()
        if event.get("tab", "home") == "home":
            bot.answers.submit(_logged(bot.home), event["user"])

    @app.event("member_joined_channel")
    def on_joined(ack, event):
        ack()
        bot.answers.submit(_logged(bot.member_joined), event)

    @app.event("member_left_channel")
    def on_left(ack, event):
        ack()
        bot.answers.submit(_logged(bot.member_left), event)

    return app, bot


def _logged(function):
    def run(*args):
        try:
            function(*args)
        except Exception:
            log.exception("%s failed", function.__name__)
    return run
