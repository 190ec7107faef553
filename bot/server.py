"""Running the app: HTTP mode (a threaded WSGI server, waitress, with ``/slack/events`` and
``/healthz``) or Socket Mode (a websocket to Slack; no public URL needed).

In HTTP mode a request passes these checks before slack-bolt sees it, each refusal a 4xx and
one log line that names the reason, never the body:

- a body larger than Slack sends (``MAX_BODY_BYTES``) is refused with 413 before it is read
  (waitress refuses it by its Content-Length, or while reading a chunked body);
- a request without a whole-number timestamp is refused with 400, one with a wrong or stale
  signature with 401;
- a body that is not UTF-8, JSON that is not JSON, and a payload without what its type needs
  (a button without its action, a form without its view, ...) are refused with 400;
- a request seen before (a signature that arrived within Slack's five minutes) is answered
  200 and not acted on again.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable

from slack_bolt import App

from bot.logs import error_classes, incident
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HTTP_THREADS = 32  # each request thread waits only for an ack
MAX_BODY_BYTES = 512 * 1024  # Slack's largest requests (a big form's view) are well below
REPLAY_WINDOW_SECONDS = 5 * 60  # Slack's: an older (or later) timestamp is refused
MAX_REMEMBERED = 100_000  # signatures kept for replays; about 20 MB at most
STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found",
          405: "405 Method Not Allowed", 413: "413 Content Too Large",
          500: "500 Internal Server Error", 503: "503 Service Unavailable"}
METRICS_PATH = "/metrics"


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


class SeenRequests:
    """The signatures of the requests of the last ``window`` seconds, to know a replay.

    A signature covers the timestamp and the body, and a request is refused once its timestamp
    is more than the window away from now, so a signature needs remembering only until then.
    Bounded: beyond ``limit`` signatures the oldest is forgotten (and that is logged). One
    process's memory: replicas behind a load balancer each know their own requests only.
    """

    def __init__(self, window: float = REPLAY_WINDOW_SECONDS, limit: int = MAX_REMEMBERED):
        self.window = window
        self.limit = limit
        self._until: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    def first_time(self, signature: str, timestamp: int, now: float) -> bool:
        """True the first time ``signature`` is seen (and remember it); False for a replay."""
        with self._lock:
            while self._until and next(iter(self._until.values())) < now:
                self._until.popitem(last=False)
            if signature in self._until:
                return False
            if len(self._until) >= self.limit:
                self._until.popitem(last=False)
                if not self._warned:
                    log.warning("more than %d requests in %d s: the oldest are forgotten for "
                                "replay checks", self.limit, self.window)
                    self._warned = True
            self._until[signature] = timestamp + self.window
            return True

    def __len__(self) -> int:
        return len(self._until)


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(environ: dict, limit: int) -> bytes:
    """The request's body, refused (413) when longer than ``limit``: by its Content-Length
    before reading, or, without one, after reading ``limit`` bytes and one more."""
    stream = environ["wsgi.input"]
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if length:
        if not length.isdigit():
            raise Refused(400, "the Content-Length is not a number")
        if int(length) > limit:
            raise Refused(413, f"the body is longer than {limit} bytes")
        body = stream.read(int(length))
        if len(body) != int(length):
            raise Refused(400, "the body is shorter than its Content-Length")
        return body
    parts, size = [], 0
    while size <= limit:
        part = stream.read(min(64 * 1024, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise Refused(413, f"the body is longer than {limit} bytes")
    return b"".join(parts)


def _user_id(payload: dict) -> bool:
    user = payload.get("user")
    return isinstance(user, dict) and isinstance(user.get("id"), str) and bool(user["id"])


def _strings(mapping: dict, *names: str) -> bool:
    return all(isinstance(mapping.get(n), str) and mapping[n] for n in names)


def malformed(content_type: str, text: str) -> str | None:
    """Why the body cannot be what Slack sends (None: it can), for what teampuls acts on."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            body = json.loads(text)
        except ValueError:
            return "the JSON body is not JSON"
        if not isinstance(body, dict):
            return "the JSON body is not an object"
        if body.get("type") == "event_callback":
            event = body.get("event")
            if not isinstance(event, dict) or not _strings(event, "type"):
                return "an event without its event"
            if event["type"] == "app_home_opened" and not _strings(event, "user"):
                return "app_home_opened without its user"
            if event["type"] in ("member_joined_channel", "member_left_channel") and \
                    not _strings(event, "user", "channel"):
                return f"{event['type']} without its user and channel"
        elif body.get("type") == "url_verification" and not _strings(body, "challenge"):
            return "url_verification without its challenge"
        return None
    fields = urllib.parse.parse_qs(text, keep_blank_values=True)
    if "payload" in fields:
        try:
            payload = json.loads(fields["payload"][-1])
        except ValueError:
            return "the payload is not JSON"
        if not isinstance(payload, dict) or not _strings(payload, "type"):
            return "the payload has no type"
        if payload["type"] in ("block_actions", "view_submission", "view_closed") and \
                not _user_id(payload):
            return f"{payload['type']} without its user"
        if payload["type"] == "block_actions":
            actions = payload.get("actions")
            if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)
                    and _strings(actions[0], "action_id")
                    and isinstance(actions[0].get("value", ""), str)):
                return "block_actions without its action"
            if not isinstance(payload.get("view") or {}, dict) or \
                    not isinstance(payload.get("channel") or {}, dict) or \
                    not isinstance(payload.get("container") or {}, dict):
                return "block_actions with a malformed view, channel or container"
        if payload["type"] in ("view_submission", "view_closed"):
            view = payload.get("view")
            if not isinstance(view, dict) or not _strings(view, "callback_id") or \
                    not isinstance(view.get("private_metadata", ""), str):
                return f"{payload['type']} without its view"
            values = (view.get("state") or {}).get("values", {}) \
                if isinstance(view.get("state") or {}, dict) else None
            if not isinstance(values, dict) or not all(
                    isinstance(block, dict) and all(isinstance(a, dict) for a in block.values())
                    for block in values.values()):
                return f"{payload['type']} with malformed answers"
        return None
    if "command" in fields:
        command = {name: values[-1] for name, values in fields.items()}
        if not _strings(command, "command", "user_id", "channel_id"):
            return "a command without its user or channel"
    return None


def _headers(environ: dict) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def wsgi_app(app: App, signing_secret: str, *, clock: Callable[[], float] = time.time,
             seen: SeenRequests | None = None, max_body: int = MAX_BODY_BYTES,
             health: Callable[[], str | None] | None = None,
             metrics: Callable[[], tuple[str, bytes]] | None = None):
    """The WSGI application of HTTP mode: the checks of the module's docstring, then bolt.

    ``health`` (``bot.health.HealthCheck``) says why the process is unhealthy, or None:
    ``/healthz`` answers 503 then. ``metrics`` gives ``/metrics`` (content type and body,
    ``bot.metrics.exposition``); without it that path is not found."""
    from slack_bolt.request import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    if not signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it")

    class Clock:
        def now(self) -> float:
            return clock()

    verifier = SignatureVerifier(signing_secret, clock=Clock())
    seen = seen if seen is not None else SeenRequests()

    def handle(environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        body = read_body(environ, max_body)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not signature or not timestamp:
            raise Refused(401, "no signature or timestamp")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(400, "the timestamp is not a whole number of seconds")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "the body is not UTF-8") from None
        if not verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "a wrong signature or a stale timestamp")
        reason = malformed(environ.get("CONTENT_TYPE", ""), text)
        if reason is not None:
            raise Refused(400, reason)
        if not seen.first_time(signature, int(timestamp), clock()):
            log.info("a request signed at %s came again; answered without acting", timestamp)
            return 200, [], b""
        response = app.dispatch(BoltRequest(body=text, query=environ.get("QUERY_STRING", ""),
                                            headers=_headers(environ)))
        headers = [(name, value) for name, values in response.headers.items()
                   for value in values]
        return response.status, headers, response.body.encode("utf-8")

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            reason = health() if health is not None else None
            if reason is not None:
                return _answer(start_response, 503, f"unhealthy: {reason}\n".encode())
            return _answer(start_response, 200, b"ok\n")
        if path == METRICS_PATH and metrics is not None:
            content_type, body = metrics()
            start_response(STATUS[200], [("Content-Type", content_type),
                                         ("Content-Length", str(len(body)))])
            return [body]
        if path != EVENTS_PATH:
            return _answer(start_response, 404, b"not found\n")
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, b"POST only\n")
        try:
            status, headers, body = handle(environ)
        except Refused as refused:
            log.warning("refused a request: %s (%d)", refused.reason, refused.status)
            return _answer(start_response, refused.status, refused.reason.encode() + b"\n")
        except Exception as error:
            number = incident()
            log.error("a request failed: %s (incident %s)", error_classes(error), number,
                      exc_info=True)
            return _answer(start_response, 500, f"incident {number}\n".encode())
        start_response(STATUS.get(status, f"{status} Status"),
                       headers + [("Content-Length", str(len(body)))])
        return [body]

    return application


def _answer(start_response, status: int, body: bytes):
    start_response(STATUS[status], [("Content-Type", "text/plain; charset=utf-8"),
                                    ("Content-Length", str(len(body)))])
    return [body]


def http_server(app: App, settings: Settings, host: str, port: int, **options):
    """The waitress server of HTTP mode (``run()`` serves, ``close()`` stops); port 0 picks a
    free one (``effective_port``). ``options`` go to ``wsgi_app``."""
    import waitress

    return waitress.create_server(
        wsgi_app(app, settings.slack_signing_secret, **options), host=host, port=port,
        threads=HTTP_THREADS, ident="teampuls", max_request_body_size=MAX_BODY_BYTES)


def serve_http(app: App, settings: Settings, host: str, port: int, **options) -> None:
    server = http_server(app, settings, host, port, **options)
    log.info("teampuls listens on http://%s:%d%s (health: /healthz)", host, port, EVENTS_PATH)
    server.run()


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("teampuls connects to Slack in Socket Mode")
    SocketModeHandler(app, app_token).start()
