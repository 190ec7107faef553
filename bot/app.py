"""The Slack app: listeners that acknowledge at once and answer on worker pools.

Slack wants an acknowledgement within 3 seconds, and a trigger id (to open a form) is good
for 3 seconds too. Listeners only ``ack()`` and hand the work on: commands that draw charts to
the answer pool, and the rest (forms, buttons, goals and follow-ups, which open forms) to a fast
lane that never waits behind a chart. A form's answers are checked for what needs no database
within the acknowledgement (errors go back beside their fields) and saved after it.

One error boundary (``Bot.guarded``) serves commands, buttons, forms and the App Home: a
failure is logged with the error's class and an incident number, never with what the user
typed, and the user is told, in their language, with that number.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.blocks import FORM_CALLBACK, form_values, form_view, home_view
from bot.drawing import Drawing
from bot.edge import Edge
from bot.gateway import Gateway
from bot.logs import error_classes, incident
from bot.prometheus import observe as observe_answer
from bot.settings import OAUTH_VARIABLES, refuse_oauth
from commands.context import Request
from commands.dispatch import COMMANDS, answer, language_of_locale, reads_only
from commands.i18n import LANGUAGES, N_, Translator
from commands.reply import Reply
from storage.kpi_cache import KpiCache

log = logging.getLogger(__name__)

ACK_WORKERS = 64  # listeners only ack, so many can run at once
ANSWER_WORKERS = 8  # answers use the database and draw charts
FAST_WORKERS = 4  # forms, buttons, goals and follow-ups: never behind a chart
FAST_COMMANDS = frozenset({"/goal", "/followup"})  # they draw nothing; /goal opens forms
LOCALE_SECONDS = 3600  # how long a user's Slack locale is trusted
ACK_SWITCH_INTERVAL = 0.001  # seconds a thread may hold Python's lock while others wait
SORRY = N_("Sorry, something went wrong on our side. It has been logged as incident "
           "{incident}; please try again in a moment.")


class Bot:
    """What the listeners share: the edge, the gateway, the worker pools and a locale cache."""

    def __init__(self, edge: Edge, gateway: Gateway, drawing: Drawing | None = None):
        self.edge = edge
        self.gateway = gateway
        self.drawing = drawing
        self.answers = ThreadPoolExecutor(ANSWER_WORKERS, thread_name_prefix="teampuls-answer")
        self.fast = ThreadPoolExecutor(FAST_WORKERS, thread_name_prefix="teampuls-fast")
        self.kpis = KpiCache()
        self._warmed: int | None = None  # the kpi_version of the last warm-up
        self._warming = threading.Lock()
        self._locales: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def shutdown(self, wait: bool = True) -> None:
        self.fast.shutdown(wait=wait)
        self.answers.shutdown(wait=wait)

    # -- the error boundary -------------------------------------------------------------------

    def guarded(self, what: str, user: str, tell: Callable[[Reply], None] | None,
                work: Callable, *args) -> None:
        """Run ``work(*args)``; a failure is logged (``what``, the user's id, the error's class
        and an incident number) and told to the user through ``tell``."""
        started = time.monotonic()
        try:
            work(*args)
        except Exception as error:
            number = incident()
            log.error("%s for %s failed: %s (incident %s)", what, user or "-",
                      error_classes(error), number, exc_info=True)
            if tell is not None:
                self._tell_incident(user, tell, number)
            observe_answer(what, True, time.monotonic() - started)
        else:
            observe_answer(what, False, time.monotonic() - started)

    def _tell_incident(self, user: str, tell: Callable[[Reply], None], number: str) -> None:
        reply = Reply(self.translator(user)(SORRY).format(incident=number), error=True)
        try:
            tell(reply)
            return
        except Exception as error:
            log.warning("telling %s about incident %s failed (%s); sent as a direct message",
                        user, number, error_classes(error))
        try:
            self.gateway.direct_reply(user, reply)
        except Exception as error:
            log.error("could not tell %s about incident %s: %s", user, number,
                      error_classes(error))

    def translator(self, user: str, fallback: str | None = None) -> Translator:
        """The user's language (their Slack locale), else ``fallback``, else the default."""
        return Translator(language_of_locale(self.locale(user)) or fallback
                          or self.edge.settings.language)

    # -- commands -----------------------------------------------------------------------------

    def take_command(self, body: dict) -> None:
        """A slash command, acknowledged: answered on the fast lane or the answer pool."""
        request = Request(body["command"], body.get("text", ""), body["user_id"],
                          body["channel_id"], None)
        response_url = body.get("response_url")

        def tell(reply: Reply) -> None:
            if response_url:
                self.gateway.respond(response_url, reply)
            else:
                self.gateway.deliver(reply, channel=request.channel_id, user=request.user_id,
                                     response_url=None)

        lane = self.fast if request.command in FAST_COMMANDS else self.answers
        lane.submit(self.guarded, f"answering {request.command}", request.user_id, tell,
                    self._answer, request, response_url, body.get("trigger_id"))

    def _answer(self, request: Request, response_url: str | None, trigger_id: str | None):
        request = dataclasses.replace(request, locale=self.locale(request.user_id))
        settings = self.edge.settings
        sessions = self.edge.reads if reads_only(request.command) else self.edge.sessions
        with sessions.begin() as session:
            reply = answer(request, session, now=self.edge.current(),
                           default_language=settings.language, admins=settings.admins,
                           cache=self.kpis, draw=self.drawing.png if self.drawing else None)
        if reply.form is not None and trigger_id:
            self.gateway.open_view(trigger_id, form_view(reply.form))
        else:
            self.gateway.deliver(reply, channel=request.channel_id, user=request.user_id,
                                 response_url=response_url)
        if reply.sync_channels:
            self.sync_members(reply.sync_channels)
        if self.kpis.newest_version != self._warmed:  # an import since: warm up again
            self.answers.submit(self.warm_kpis)

    def cached_locale(self, user: str) -> str | None:
        """The user's locale if it is known already (no call to Slack)."""
        with self._lock:
            cached = self._locales.get(user)
        if cached is not None and time.monotonic() - cached[0] < LOCALE_SECONDS:
            return cached[1]
        return None

    def locale(self, user: str) -> str | None:
        """The user's Slack locale (users.info), cached; None when Slack does not say."""
        now = time.monotonic()
        with self._lock:
            cached = self._locales.get(user)
        if cached is not None and now - cached[0] < LOCALE_SECONDS:
            return cached[1]
        try:
            locale = self.gateway.user_locale(user)
        except Exception as error:
            log.warning("users.info for %s failed (%s); answering in the team's language", user,
                        error_classes(error))
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
        except Exception as error:
            log.error("warming the KPI cache failed (%s); answers read the database",
                      error_classes(error), exc_info=True)
        finally:
            self._warming.release()

    # -- forms, buttons and the App Home ------------------------------------------------------

    def form(self, ack, body: dict) -> None:
        """A submitted form: what can be checked without the database is checked within the
        acknowledgement (errors go back to the form, beside their fields); then the form
        closes, and the answers are saved on the fast lane, which confirms them privately (or
        says why they could not be saved)."""
        from commands.forms import check, form_state

        view, user = body["view"], body["user"]["id"]
        metadata = view.get("private_metadata", "")
        state = form_state(metadata)
        channel = state.get("channel", "")
        values = form_values(view)
        made_in = state.get("lang") if state.get("lang") in LANGUAGES else None
        tr = Translator(made_in or language_of_locale(self.cached_locale(user))
                        or self.edge.settings.language)
        try:
            errors = check(state.get("kind", ""), values, tr)
        except Exception as error:
            number = incident()
            log.error("checking a form of %s failed: %s (incident %s)", user,
                      error_classes(error), number, exc_info=True)
            ack(response_action="errors", errors={next(iter(values), ""): tr(SORRY).format(
                incident=number)})
            return
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        self.fast.submit(self.guarded, "saving a form", user,
                         lambda reply: self._confirm(reply, channel, user),
                         self._save_form, user, channel, state, metadata, values)

    def _save_form(self, user: str, channel: str, state: dict, metadata: str,
                   values: dict) -> None:
        from commands.dispatch import interaction_context, on_form
        from commands.forms import FormErrors

        with self.edge.sessions.begin() as session:
            ctx = interaction_context(
                session, user, channel, now=self.edge.current(),
                default_language=self.edge.settings.language, locale=self.locale(user),
                team_id=int(state["team"]))
            try:
                reply = on_form(state.get("kind", ""), metadata, values, ctx)
            except FormErrors as refused:  # the form has closed: say it in a message
                reply = Reply("\n".join(refused.errors.values()), error=True)
        self._confirm(reply, channel, user)

    def _confirm(self, reply: Reply, channel: str, user: str) -> None:
        if not channel:
            self.gateway.direct_reply(user, reply)
            return
        try:
            self.gateway.deliver(reply, channel=channel, user=user, response_url=None)
        except Exception as error:
            log.warning("confirming a form to %s in %s failed (%s); sent as a direct message",
                        user, channel, error_classes(error))
            self.gateway.direct_reply(user, reply)

    def take_button(self, body: dict) -> None:
        action, user = body["actions"][0], body["user"]["id"]
        response_url = body.get("response_url")

        def tell(reply: Reply) -> None:
            if response_url:
                self.gateway.respond(response_url, reply)
            else:
                self.gateway.direct_reply(user, reply)

        self.fast.submit(self.guarded, f"the button {action.get('action_id', '?')}", user,
                         tell, self.button, body)

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

    def take_home(self, user: str) -> None:
        def tell(reply: Reply) -> None:
            self.gateway.publish_home(user, home_view(reply))

        self.fast.submit(self.guarded, "the App Home", user, tell, self.home, user)

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
        self.guarded("reading the members of the linked channels", "", None, self.sync_members)

    def sync_members(self, channels=None) -> None:
        """Read the members of linked channels (all of them by default) from Slack."""
        from storage.teams import linked_channels, set_channel_members

        if channels is None:
            with self.edge.reads.begin() as session:
                channels = linked_channels(session)
        for channel in channels:
            try:
                members = self.gateway.channel_members(channel)
            except Exception as error:
                log.warning("cannot read the members of %s (%s)", channel, error_classes(error))
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


class _TokenFromClient(logging.Filter):
    """slack-bolt reads SLACK_BOT_TOKEN from the environment whenever no token is passed, and
    warns that it goes unused when a client is given too: the client (with the settings' token)
    is what it uses, so that warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def create_app(edge: Edge, gateway: Gateway, drawing: Drawing | None = None, *,
               requests_checked: bool = False) -> tuple[App, Bot]:
    """The bolt app and what its listeners share; ``drawing`` draws charts on worker processes
    (without it, on the answer threads). Every value bolt uses comes from the settings.

    ``requests_checked``: every request reaches the app through ``bot.server.wsgi_app``, which
    checks its signature and timestamp (on the injected clock) and refuses replays, or through
    Socket Mode, whose requests bolt does not verify anyway; bolt then checks no signature a
    second time. Otherwise (anything that dispatches to the app itself) bolt verifies each
    request with the signing secret."""
    settings = edge.settings
    bot = Bot(edge, gateway, drawing)
    bolt_log = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _TokenFromClient) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenFromClient())
    # Every value bolt would otherwise take from the environment is given: the signing secret
    # (a string, never None), the client with the bot token, no OAuth settings (the entry point
    # refuses SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: teampuls serves one workspace).
    app = App(
        name="teampuls",
        client=gateway.client,
        signing_secret=settings.slack_signing_secret or "",
        verification_token="",
        request_verification_enabled=(bool(settings.slack_signing_secret)
                                      and not requests_checked),
        token_verification_enabled=False,  # checked once at start-up with auth.test
        listener_executor=ThreadPoolExecutor(ACK_WORKERS, thread_name_prefix="teampuls-ack"),
        process_before_response=False,
        logger=bolt_log,
    )
    if app.oauth_flow is not None or app.installation_store is not None:
        refuse_oauth(dict.fromkeys(OAUTH_VARIABLES, ""))  # the entry point refuses them first

    def on_command(ack, body):
        ack()
        bot.take_command(body)

    for name in COMMANDS:
        app.command(name)(on_command)

    @app.view(FORM_CALLBACK)
    def on_form(ack, body):
        bot.form(ack, body)

    @app.action(re.compile(r"^(followup|goal|drift)_"))
    def on_button(ack, body):
        ack()
        bot.take_button(body)

    @app.event("app_home_opened")
    def on_home(ack, event):
        ack()
        if event.get("tab", "home") == "home":
            bot.take_home(event["user"])

    @app.event("member_joined_channel")
    def on_joined(ack, event):
        ack()
        bot.answers.submit(bot.guarded, "a member joining", "", None, bot.member_joined,
                           event)

    @app.event("member_left_channel")
    def on_left(ack, event):
        ack()
        bot.answers.submit(bot.guarded, "a member leaving", "", None, bot.member_left, event)

    return app, bot
