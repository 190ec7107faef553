"""Running the app: HTTP mode (a threaded WSGI server, waitress, with ``/slack/events`` and
``/healthz``) or Socket Mode (a websocket to Slack; no public URL needed)."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HTTP_THREADS = 32  # each request thread waits only for an ack


def check_slack_settings(settings: Settings) -> str:
    """The mode the settings ask for ("socket" or "http"); SettingsError names what is missing."""
    if not settings.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-...) of "
                            "the Slack app")
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        return "socket"
    if not settings.slack_signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's signing "
                            "secret (or set SLACK_APP_TOKEN for Socket Mode)")
    return "http"


def check_token(client) -> dict:
    """auth.test once at start-up; a wrong token is a settings error, not a traceback."""
    from slack_sdk.errors import SlackApiError

    try:
        return client.auth_test().data
    except SlackApiError as error:
        raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack ({error.response.get('error')})"
                            ) from None
    except OSError as error:
        raise SettingsError(f"cannot reach Slack's Web API at {client.base_url} "
                            f"(SLACK_API_BASE_URL): {error}") from None


def wsgi_app(app: App):
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return slack(environ, start_response)

    return application


def serve_http(app: App, host: str, port: int) -> None:
    import waitress

    log.info("teampuls listens on http://%s:%d%s (health: /healthz)", host, port, EVENTS_PATH)
    waitress.serve(wsgi_app(app), host=host, port=port, threads=HTTP_THREADS,
                   ident="teampuls", _quiet=True)


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("teampuls connects to Slack in Socket Mode")
    SocketModeHandler(app, app_token).start()
