"""A local stand-in for Slack's Web API: a real HTTP server on 127.0.0.1.

It serves the methods teampuls uses (and the ones later features will), checks each call's
token and required arguments as Slack does, records every call, takes file uploads and
response_url posts, and can be told to answer a method with an error or a rate limit
(429 with Retry-After). Point the app at it with ``base_url`` (it ends in ``/``).
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

# method -> arguments Slack requires (a tuple inside means "one of these")
REQUIRED: dict[str, tuple] = {
    "auth.test": (),
    "chat.postMessage": ("channel", ("text", "blocks", "attachments")),
    "chat.postEphemeral": ("channel", "user", ("text", "blocks", "attachments")),
    "conversations.open": (("users", "channel"),),
    "conversations.members": ("channel",),
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


class SlackStandIn:
    def __init__(self):
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.responses: dict[str, list[dict]] = {}  # response_url name -> posted bodies
        self.members: dict[str, list[str]] = {}  # channel -> user ids
        self.locales: dict[str, str] = {}  # user -> Slack locale
        self.not_in: set[str] = set()  # channels the bot is not a member of
        self._failures: dict[str, list[tuple[int, dict, dict]]] = {}
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

    def _answer(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        with self._changed:
            self.calls.append(Call(method, args))
            self._changed.notify_all()
            queued = self._failures.get(method)
            if queued:
                return queued.pop(0)
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
        return 200, self._result(method, args), {}

    def _result(self, method: str, args: dict) -> dict:
        ok = {"ok": True}
        if method == "auth.test":
            return ok | {"user": "teampuls", "user_id": "U0BOT00001", "team": "Stand-in",
                         "team_id": "T0STANDIN", "bot_id": "B0BOT00001",
                         "url": "https://standin.slack.com/"}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = args["channel"]
            if channel in self.not_in:
                return {"ok": False, "error": "not_in_channel"}
            return ok | {"channel": channel, "ts": f"{time.time():.6f}",
                         "message_ts": f"{time.time():.6f}"}
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
