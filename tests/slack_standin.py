"""A local stand-in for Slack's Web API: a real HTTP server on 127.0.0.1.

It serves the methods teampuls uses (and the ones later features will), checks each call's
token and required arguments as Slack does, records every call, takes file uploads and
response_url posts, and can be told to answer a method with an error or a rate limit
(429 with Retry-After). Point the app at it with ``base_url`` (it ends in ``/``).

Trigger ids it issues (``issue_trigger``) expire as Slack's do: ``views.open`` answers
``expired_trigger_id`` once ``TRIGGER_SECONDS`` have passed on its ``clock`` (a test may give it
a clock it moves by hand). A method can be held (``hold``): its calls wait, as on a slow Slack,
until the test releases them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "xoxb-standin-0000"
TRIGGER_SECONDS = 3.0  # Slack's trigger ids are good for 3 seconds
HOLD_LIMIT_SECONDS = 30.0  # a held call is let go by itself after this (a test that forgot)

# method -> arguments Slack requires (a tuple inside means "one of these")
REQUIRED: dict[str, tuple] = {
    "auth.test": (),
    "chat.postMessage": ("channel", ("text", "blocks", "attachments")),
    "chat.postEphemeral": ("channel", "user", ("text", "blocks", "attachments")),
    "conversations.open": (("users", "channel"),),
    "conversations.members": ("channel",),
    "conversations.history": ("channel",),
    "users.info": ("user",),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "views.open": ("trigger_id", "view"),
    "views.publish": ("user_id", "view"),
}


@dataclass
class Call:
    method: str
    args: dict
    at: float = field(default_factory=time.monotonic)
    answer: dict | None = None  # what the stand-in answered (a JSON answer), once answered


class ManualClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SlackStandIn:
    def __init__(self):
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.responses: dict[str, list[dict]] = {}  # response_url name -> posted bodies
        self.members: dict[str, list[str]] = {}  # channel -> user ids
        self.locales: dict[str, str] = {}  # user -> Slack locale
        self.not_in: set[str] = set()  # channels the bot is not a member of
        self._failures: dict[str, list[tuple[int, dict, dict]]] = {}
        self._after: dict[str, list[tuple[int, dict, dict]]] = {}  # answers after doing it
        self.messages: dict[str, list[dict]] = {}  # channel -> posted messages, oldest first
        self.archived: set[str] = set()  # channels that are archived
        # Rate limits enforced like Slack's: method -> calls allowed per minute, and
        # chat.postMessage's per channel per second; ``speed`` runs the minute faster.
        self.limits: dict[str, int] = {}
        self.per_channel_per_second: int | None = None
        self.speed = 1.0
        self.limited = 0  # calls answered 429 by the limits
        self._recent: dict[tuple[str, str | None], list[float]] = {}
        self.clock = time.monotonic  # what trigger ids expire by
        self._triggers: dict[str, float] = {}  # trigger id -> when it was issued
        self._held: set[str] = set()  # methods whose calls wait until released
        self._waiting: dict[str, int] = {}  # method -> calls waiting now
        self._last_ts = 0.0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.base_url = self.url + "api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests set up ------------------------------------------------------------------

    def fail_next(self, method: str, error: str) -> None:
        """The next call of ``method`` answers ``{"ok": false, "error": error}``."""
        self._queue(method, (200, {"ok": False, "error": error}, {}))

    def rate_limit_next(self, method: str, retry_after: int = 1) -> None:
        """The next call of ``method`` answers 429 Too Many Requests with Retry-After."""
        self._queue(method, (429, {"ok": False, "error": "ratelimited"},
                             {"Retry-After": str(retry_after)}))

    def server_error_next(self, method: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls of ``method`` answer a server error without doing anything."""
        for _ in range(times):
            self._queue(method, (status, "<html>Internal Server Error</html>", {}))

    def fail_after_doing_next(self, method: str, status: int = 500) -> None:
        """The next call of ``method`` is done (a message posted) but answered with a server
        error, as when a connection breaks after Slack acted."""
        with self._lock:
            self._after.setdefault(method, []).append(
                (status, "<html>Internal Server Error</html>", {}))

    def enforce_slack_limits(self, speed: float = 1.0) -> None:
        """Answer 429 to calls beyond Slack's published limits (``speed`` times faster)."""
        self.limits = {"files.getUploadURLExternal": 100, "files.completeUploadExternal": 100,
                       "conversations.history": 50, "conversations.members": 100,
                       "users.info": 100}
        self.per_channel_per_second = 1
        self.speed = speed

    def posted(self, channel: str) -> list[dict]:
        """The messages posted in ``channel``, oldest first."""
        with self._lock:
            return list(self.messages.get(channel, []))

    def issue_trigger(self) -> str:
        """A new trigger id, as Slack puts in a command or an interaction; good for
        ``TRIGGER_SECONDS`` on the stand-in's clock."""
        with self._lock:
            trigger = f"{next(self._ids)}.{int(self.clock() * 1000)}.standin"
            self._triggers[trigger] = self.clock()
        return trigger

    def hold(self, method: str) -> None:
        """Calls of ``method`` wait (Slack is slow) until ``release``."""
        with self._changed:
            self._held.add(method)

    def release(self, method: str) -> None:
        with self._changed:
            self._held.discard(method)
            self._changed.notify_all()

    def waiting(self, method: str) -> int:
        """How many calls of ``method`` are held now."""
        with self._lock:
            return self._waiting.get(method, 0)

    def response_url(self, name: str) -> str:
        return f"{self.url}response/{name}"

    def _queue(self, method: str, answer) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(answer)

    # -- what tests read ----------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def since(self, mark: int, method: str) -> list[Call]:
        """The calls of ``method`` after the first ``mark`` calls (``len(calls)`` before an
        action): cheap where many calls came before."""
        with self._lock:
            return [c for c in self.calls[mark:] if c.method == method]

    def wait_for(self, condition, timeout: float = 10.0):
        """Wait until ``condition()`` is truthy (checked whenever a call arrives); return it."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
            with self._changed:
                self._changed.wait(0.05)  # a call that arrives in between is seen a turn later
        return value

    # -- the server ---------------------------------------------------------------------------

    def _over_limit(self, method: str, args: dict) -> int | None:
        """Seconds to wait when this call goes beyond the enforced limits; else None. Called
        with the lock held."""
        now = time.monotonic()
        if method in self.limits:
            key, window, allowed = (method, None), 60 / self.speed, self.limits[method]
        elif method == "chat.postMessage" and self.per_channel_per_second:
            key, window = (method, args.get("channel")), 1 / self.speed
            allowed = self.per_channel_per_second
        else:
            return None
        recent = [t for t in self._recent.get(key, []) if t > now - window]
        if len(recent) >= allowed:
            self._recent[key] = recent
            return max(1, int(recent[0] + window - now + 0.999))
        recent.append(now)
        self._recent[key] = recent
        return None

    def _answer(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        call = Call(method, args)
        status, answer, headers = self._answering(call, token)
        with self._changed:
            call.answer = answer if isinstance(answer, dict) else None
            self._changed.notify_all()
        return status, answer, headers

    def _wait_while_held(self, method: str) -> None:
        """Called with the lock held."""
        if method not in self._held:
            return
        self._waiting[method] = self._waiting.get(method, 0) + 1
        self._changed.notify_all()
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while method in self._held and time.monotonic() < deadline:
            self._changed.wait(0.5)
        self._waiting[method] -= 1

    def _answering(self, call: Call, token: str | None) -> tuple[int, dict, dict]:
        method, args = call.method, call.args
        with self._changed:
            self._wait_while_held(method)
            self.calls.append(call)
            self._changed.notify_all()
            queued = self._failures.get(method)
            if queued:
                return queued.pop(0)
            wait = self._over_limit(method, args)
            if wait is not None:
                self.limited += 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        if method not in REQUIRED:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        for need in REQUIRED[method]:
            names = need if isinstance(need, tuple) else (need,)
            if not any(args.get(n) not in (None, "") for n in names):
                return 200, {"ok": False, "error": f"missing_argument: {'|'.join(names)}"}, {}
        with self._lock:
            result = self._result(method, args)
            after = self._after.get(method)
            if after and result.get("ok"):
                return after.pop(0)
        return 200, result, {}

    def _result(self, method: str, args: dict) -> dict:
        ok = {"ok": True}
        if method == "auth.test":
            return ok | {"user": "teampuls", "user_id": "U0BOT00001", "team": "Stand-in",
                         "team_id": "T0STANDIN", "bot_id": "B0BOT00001",
                         "url": "https://standin.slack.com/"}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = args["channel"]
            if channel in self.archived:
                return {"ok": False, "error": "is_archived"}
            if channel in self.not_in:
                return {"ok": False, "error": "not_in_channel"}
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            ts = f"{self._last_ts:.6f}"
            if method == "chat.postMessage":
                metadata = args.get("metadata")
                metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
                self.messages.setdefault(channel, []).append(
                    {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks"),
                     "metadata": metadata})
            return ok | {"channel": channel, "ts": ts, "message_ts": ts}
        if method == "conversations.history":
            oldest = float(args.get("oldest") or 0)
            with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
            found = [dict(m) for m in reversed(self.messages.get(args["channel"], []))
                     if float(m["ts"]) > oldest]
            for m in found:
                if not with_metadata or m["metadata"] is None:
                    m.pop("metadata")
            limit = int(args.get("limit") or 100)
            start = int(args.get("cursor") or 0)
            page = found[start:start + limit]
            more = start + limit < len(found)
            return ok | {"messages": page, "has_more": more,
                         "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
        if method == "conversations.open":
            return ok | {"channel": {"id": "D" + str(args.get("users", "X")).replace(",", "")}}
        if method == "conversations.members":
            return ok | {"members": self.members.get(args["channel"], []),
                         "response_metadata": {"next_cursor": ""}}
        if method == "users.info":
            user = {"id": args["user"], "name": args["user"].lower()}
            if args["user"] in self.locales:
                user["locale"] = self.locales[args["user"]]
            return ok | {"user": user}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return ok | {"file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = args["files"]
            files = json.loads(files) if isinstance(files, str) else files
            for f in files:
                if f["id"] not in self.uploads:
                    return {"ok": False, "error": "file_not_found"}
            if args.get("channel_id") in self.not_in:
                return {"ok": False, "error": "not_in_channel"}
            return ok | {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "views.open" and args["trigger_id"] in self._triggers:
            if self.clock() - self._triggers[args["trigger_id"]] > TRIGGER_SECONDS:
                return {"ok": False, "error": "expired_trigger_id"}
        if method in ("views.open", "views.publish"):
            return ok | {"view": {"id": f"V{next(self._ids):08d}"}}
        return ok

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict | str, headers: dict | None = None):
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8"
                                 if isinstance(body, dict) else "text/plain")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _args(self, body: bytes) -> dict:
                url = urllib.parse.urlsplit(self.path)
                args = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
                kind = self.headers.get("Content-Type", "")
                if body and kind.startswith("application/json"):
                    args.update(json.loads(body))
                elif body:
                    args.update({k: v[-1] for k, v in
                                 urllib.parse.parse_qs(body.decode()).items()})
                return args

            def _token(self, args: dict) -> str | None:
                header = self.headers.get("Authorization", "")
                if header.startswith("Bearer "):
                    return header[len("Bearer "):]
                return args.pop("token", None)

            def do_GET(self):
                self._route(b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._route(self.rfile.read(length))

            def _route(self, body: bytes):
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/api/"):
                    args = self._args(body)
                    token = self._token(args)
                    status, answer, headers = standin._answer(path[len("/api/"):], args, token)
                    self._send(status, answer, headers)
                elif path.startswith("/upload/"):
                    with standin._changed:
                        standin.uploads[path[len("/upload/"):]] = body
                        standin._changed.notify_all()
                    self._send(200, f"OK - {len(body)}")
                elif path.startswith("/response/"):
                    with standin._changed:
                        standin.responses.setdefault(path[len("/response/"):], []).append(
                            json.loads(body))
                        standin._changed.notify_all()
                    self._send(200, "ok")
                else:
                    self._send(404, {"ok": False, "error": "not_found"})

        return Handler
