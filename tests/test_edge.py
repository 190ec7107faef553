"""The HTTP edge and the error boundary: the real app behind the real HTTP server (waitress, on
a free port of 127.0.0.1) or fed signed requests in-process, against the Slack stand-in.

What a user typed never reaches the log on any path; bodies are capped and never logged;
malformed requests get a 4xx and one log line; replays are not acted on; forms are acknowledged
before any database or Slack work; trigger ids are used within their 3 seconds although charts
keep the answer pool busy; every interactive path tells the user about a failure; bolt ignores
the environment; /kpi refuses a text too long to be a question.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from sqlalchemy import func, select, text

from bot.scheduler import Job, Scheduler
from bot.server import MAX_BODY_BYTES, http_server
from storage import goals
from storage.models import FollowUp
from tests.slack_standin import TOKEN, ManualClock
from tests.test_goals import (  # noqa: F401 - fixtures
    CHANNEL_A,
    MEMBER,
    MEMBER2,
    NOW,
    SECRET,
    SlackApp,
    _goal,
    slack,
    teams,
)

REF = "B-000004"
SENTENCE = "ring til datteren om nøglerne"
MARKERS = (REF, "datteren om", "000004")


def _signed_headers(body: bytes, content_type: str, stamp: str | None = None,
                    secret: str = SECRET) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body,
                                 hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature}


class Http:
    """The app behind ``bot.server.http_server`` on 127.0.0.1, spoken to over a socket."""

    def __init__(self, slack_app: SlackApp, **options):
        self.server = http_server(slack_app.app, slack_app.edge.settings, "127.0.0.1", 0,
                                  **options)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)

    def raw(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        """Send ``head`` (and ``body``) as they are; the status and body of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(head + body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]

    def streamed(self, head: bytes, chunks) -> int:
        """Send ``head``, then ``chunks`` one by one until the server answers (as a client
        does that reads while it sends); the answer's status."""
        import select

        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(head)
            for chunk in chunks:
                if select.select([connection], [], [], 0.05)[0]:
                    break  # answered already
                connection.sendall(chunk)
            select.select([connection], [], [], 10)
            status_line = connection.recv(65536).partition(b"\r\n")[0]
        return int(status_line.split()[1])

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        lines = [b"POST /slack/events HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
                 f"Content-Length: {len(body)}".encode()]
        lines += [f"{name}: {value}".encode() for name, value in headers.items()]
        return self.raw(b"\r\n".join(lines) + b"\r\n\r\n", body)

    def signed(self, body: bytes | str, content_type: str = "application/x-www-form-urlencoded",
               **changes) -> tuple[int, bytes]:
        body = body.encode() if isinstance(body, str) else body
        return self.post(body, _signed_headers(body, content_type, **changes))


@pytest.fixture
def http(slack):
    made = Http(slack)
    yield made
    made.close()


def _command_body(name: str, text_: str, standin, user: str = MEMBER,
                  trigger: str = "1.2.3", response: str = "cmd") -> str:
    return urllib.parse.urlencode({
        "command": name, "text": text_, "user_id": user, "channel_id": CHANNEL_A,
        "team_id": "T0STANDIN", "trigger_id": trigger,
        "response_url": standin.response_url(response)})


def _refuse_writes(edge, table: str, when: str = "INSERT") -> None:
    """The database refuses every ``when`` on ``table`` (a failure nobody typed)."""
    name = f"refuse_{when.lower()}_{table}"
    with edge.engine.begin() as connection:
        if edge.engine.dialect.name == "sqlite":
            connection.execute(text(f"CREATE TRIGGER {name} BEFORE {when} ON {table} "
                                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
        else:
            connection.execute(text(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"))
            connection.execute(text(f"CREATE TRIGGER {name} BEFORE {when} ON {table} "
                                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"))


def _view(opened) -> dict:
    view = opened.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _logged(caplog) -> str:
    return "\n".join([caplog.text] + [r.getMessage() + (r.exc_text or "")
                                      for r in caplog.records])


def _incident(text_: str) -> str:
    import re

    found = re.search(r"(?:incident|hændelse|hendelse) ([0-9a-f]{8})", text_)
    assert found, text_
    return found.group(1)


# -- logs -------------------------------------------------------------------------------------

def test_what_users_typed_never_reaches_the_log_on_any_path(slack, standin, http, caplog,
                                                             cli, tmp_path):
    caplog.set_level(logging.DEBUG)
    with slack.edge.sessions.begin() as session:
        team = session.scalar(text("SELECT id FROM teams WHERE code = 'HAD-A'"))
        goal_id = goals.create_goal(session, MEMBER, team, _goal(ref=REF, goal=SENTENCE), NOW).id
        goals.add_follow_up(session, MEMBER, team, SENTENCE, MEMBER2, NOW.date(), NOW,
                            citizen_ref=REF)
    _refuse_writes(slack.edge, "follow_ups")
    _refuse_writes(slack.edge, "goals")
    told = []

    # A slash command: the follow-up cannot be written.
    assert http.signed(_command_body(
        "/followup", f"add {REF} <@{MEMBER2}|mette> 25.11 {SENTENCE}", standin))[0] == 200
    (sent,) = standin.wait_for(lambda: standin.responses.get("cmd"))
    told.append(sent["text"])

    # A form: the goal cannot be written.
    assert http.signed(_command_body("/goal", "", standin))[0] == 200
    (opened,) = standin.wait_for(lambda: standin.of("views.open"))
    values = {"citizen_ref": {"type": "plain_text_input", "value": REF},
              "what_matters": {"type": "plain_text_input", "value": SENTENCE},
              "goal": {"type": "plain_text_input", "value": SENTENCE},
              "follow_up_by": {"type": "users_select", "selected_user": MEMBER2},
              "reassess_on": {"type": "datepicker", "selected_date": "2026-11-30"}}
    state = {name: {name: value} for name, value in values.items()}
    payload = {"type": "view_submission", "user": {"id": MEMBER}, "team": {"id": "T0STANDIN"},
               "view": _view(opened) | {"state": {"values": state}}}
    assert http.signed(urllib.parse.urlencode({"payload": json.dumps(payload)}))[0] == 200
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    told.append(posted.args["text"])

    # A button: the goal's form cannot be opened.
    standin.fail_next("views.open", "invalid_arguments")
    slack.press("goal_edit", str(goal_id), response="edit")
    (sent,) = standin.wait_for(lambda: standin.responses.get("edit"))
    told.append(sent["text"])

    # The App Home: it cannot be shown.
    standin.fail_next("views.publish", "invalid_blocks")
    slack.event({"type": "app_home_opened", "user": MEMBER2, "channel": "D0HOME0001",
                 "tab": "home"})
    published = standin.wait_for(lambda: standin.of("views.publish")[1:])
    told.append(json.dumps(_view(published[0])))

    # A scheduled job: the reminder cannot be sent, nor the follow-up marked as reminded.
    from bot.reminders import Reminders

    _refuse_writes(slack.edge, "follow_ups", "UPDATE")
    standin.fail_next("chat.postMessage", "invalid_blocks")
    Scheduler.run_once(Job("follow-up reminders", 60, Reminders(slack.edge,
                                                                slack.gateway).run_due))

    # An import: the visits cannot be written.
    _refuse_writes(slack.edge, "visits")
    visits = tmp_path / "visits.csv"
    from tests.conftest import SAMPLES

    lines = (SAMPLES / "canonical" / "visits.csv").read_text("utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("citizen_ref")] = REF
    visits.write_text("\n".join([lines[0], ",".join(row)]) + "\n", "utf-8")
    try:
        cli("import", visits, ok=False)
    except Exception as error:  # the database's refusal reaches the command line as it is
        assert "refused by the test" in str(error)

    for message in told:
        assert _incident(message) in caplog.text, message  # the log names the same incident
    logged = _logged(caplog)
    assert "incident" in logged and "Error" in logged
    for marker in MARKERS:
        assert marker not in logged, marker


def test_bodies_are_never_logged(http, caplog):
    caplog.set_level(logging.DEBUG)
    body = urllib.parse.urlencode({"command": "/followup", "text": f"add {REF} {SENTENCE}",
                                   "user_id": MEMBER, "channel_id": CHANNEL_A}).encode()
    assert http.post(body, {"Content-Type": "application/x-www-form-urlencoded",
                            "X-Slack-Request-Timestamp": str(int(time.time())),
                            "X-Slack-Signature": "v0=" + "0" * 64})[0] == 401
    assert http.signed(body)[0] == 200
    logged = _logged(caplog)
    for marker in MARKERS:
        assert marker not in logged and urllib.parse.quote_plus(marker) not in logged


# -- the HTTP server --------------------------------------------------------------------------

def test_a_body_larger_than_slack_sends_is_refused_before_it_is_read(http):
    # The head promises 200 MB and sends none of it: the answer comes at once.
    started = time.monotonic()
    status, _ = http.raw(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nContent-Length: 209715200\r\n"
                         b"\r\n")
    assert status == 413 and time.monotonic() - started < 9  # not the socket's timeout
    # Chunked, without a length: read up to the cap, then refused.
    chunk = b"a" * 65536
    chunks = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * (MAX_BODY_BYTES // 65536 + 2)
    assert http.streamed(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n", chunks + [b"0\r\n\r\n"]) == 413


def test_the_bot_listens_on_127_0_0_1_unless_told_otherwise(standin, database_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TEAMPULS_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_BASE_URL=standin.base_url)
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # until the child's output ends
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not (seen and "teampuls listens on" in seen[-1]):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no 'listens on' within 60 s:\n" + "".join(seen)) from None
            assert line is not None, "the bot ended:\n" + "".join(seen)
            seen.append(line)
        assert f"listens on http://127.0.0.1:{port}/slack/events" in seen[-1]
    finally:
        # The bot and the chart workers it started: every process of its session ends, and
        # with the last one its output (the reader ends then).
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        if reader.is_alive():  # pragma: no cover - a worker outlived SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
            reader.join(timeout=10)
        assert not reader.is_alive()
        process.stdout.close()


@pytest.mark.parametrize("case", [
    "a timestamp that is not a whole number", "a body that is not UTF-8",
    "JSON that is not JSON", "a payload that is not JSON", "a button without its action",
    "a form without its view", "an action that is not an object", "an event without a user",
])
def test_malformed_requests_get_a_4xx_and_one_log_line(http, caplog, case):
    caplog.set_level(logging.DEBUG)
    form = "application/x-www-form-urlencoded"

    def payload(value) -> str:
        return urllib.parse.urlencode({"payload": json.dumps(value)})

    user = {"id": MEMBER}
    status, _ = {
        "a timestamp that is not a whole number": lambda: http.signed("text=x", stamp="1e9"),
        "a body that is not UTF-8": lambda: http.signed(b"command=/goal&text=\xff\xfe"),
        "JSON that is not JSON": lambda: http.signed("{not json", "application/json"),
        "a payload that is not JSON": lambda: http.signed("payload=%7Bnope", form),
        "a button without its action": lambda: http.signed(
            payload({"type": "block_actions", "user": user})),
        "a form without its view": lambda: http.signed(
            payload({"type": "view_submission", "user": user})),
        "an action that is not an object": lambda: http.signed(
            payload({"type": "block_actions", "user": user, "actions": ["goal_done"]})),
        "an event without a user": lambda: http.signed(json.dumps(
            {"type": "event_callback", "event": {"type": "app_home_opened"}}),
            "application/json"),
    }[case]()
    assert 400 <= status < 500
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "Traceback" not in caplog.text, caplog.text


def test_a_replayed_request_is_answered_but_not_acted_on_again(http, standin, slack,
                                                                 caplog):
    body = _command_body("/followup", f"add B-10442 <@{MEMBER2}|mette> 25.11 ring", standin)
    headers = _signed_headers(body.encode(), "application/x-www-form-urlencoded")
    assert http.post(body.encode(), headers)[0] == 200
    standin.wait_for(lambda: standin.responses.get("cmd") or standin.of("chat.postEphemeral"))
    with slack.edge.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.server"):
        assert http.post(body.encode(), headers) == (200, b"")  # the same request, again
    # The server answered it without handing it to the app (it logs that before answering).
    assert [r.getMessage() for r in caplog.records if r.name == "bot.server"] == [
        f"a request signed at {headers['X-Slack-Request-Timestamp']} came again; answered "
        "without acting"]
    slack.command("/followup", "list")  # the app itself still answers
    standin.wait_for(lambda: len(standin.of("chat.postEphemeral")) == 2)
    with slack.edge.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 1


def test_behind_the_http_server_a_signature_is_checked_once_on_the_servers_clock(
        edge, teams, standin):  # noqa: F811
    """The server checks each signature against its own (injected) clock; bolt, set up as
    ``teampuls run`` sets it up, checks none again (it would on the real clock, an hour off)."""
    from tests.conftest import Clock

    made = SlackApp(edge, standin, Clock(NOW), requests_checked=True)
    hour_ago = time.time() - 3600
    http = Http(made, clock=lambda: hour_ago)
    try:
        body = _command_body("/followup", "list", standin)
        status, _ = http.signed(body, stamp=str(int(hour_ago)))
        assert status == 200
        standin.wait_for(lambda: standin.responses.get("cmd")
                         or standin.of("chat.postEphemeral"))
        # A timestamp current on the real clock is five minutes off the server's: refused.
        assert http.signed(body)[0] == 401
    finally:
        http.close()
        made.bot.shutdown(wait=True)


# -- acknowledging in time --------------------------------------------------------------------

def test_a_form_is_acknowledged_before_any_database_or_slack_work(slack, standin):
    slack.command("/goal", "")
    view = _view(standin.wait_for(lambda: standin.of("views.open"))[0])
    slack.bot._locales.clear()  # the user's language is not known: users.info would tell
    standin.hold("users.info")  # ... but Slack is slow
    answered = []
    try:
        submitting = threading.Thread(target=lambda: answered.append(slack.submit_form(
            view, {"citizen_ref": {"type": "plain_text_input", "value": "B-10442"},
                   "what_matters": {"type": "plain_text_input", "value": "At gå selv"},
                   "goal": {"type": "plain_text_input", "value": "200 m"},
                   "follow_up_by": {"type": "users_select", "selected_user": MEMBER2},
                   "reassess_on": {"type": "datepicker", "selected_date": "2026-11-30"}})))
        submitting.start()
        submitting.join(timeout=5)  # the ack comes at once; before, it waited on users.info
        assert answered and answered[0].status == 200 and not answered[0].body
    finally:
        standin.release("users.info")
    (confirmed,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert "Goal #1 is saved" in confirmed.args["text"]


def test_a_form_opens_within_its_trigger_while_charts_keep_the_answer_pool_busy(slack,
                                                                                 standin):
    from bot.app import ANSWER_WORKERS

    standin.clock = clock = ManualClock()
    standin.hold("chat.postEphemeral")  # every answer of /kpi waits on Slack
    try:
        for n in range(ANSWER_WORKERS + 2):
            slack.command("/kpi", "blah", user=f"U0BUSY{n:04d}")
        standin.wait_for(lambda: standin.waiting("chat.postEphemeral") == ANSWER_WORKERS)
        trigger = standin.issue_trigger()
        body = _command_body("/goal", "", standin, trigger=trigger)
        assert slack._send(body, "application/x-www-form-urlencoded").status == 200
        try:
            (opened,) = standin.wait_for(lambda: standin.of("views.open"), timeout=5)
        finally:
            clock.advance(4)  # the charts took their time
    finally:
        standin.release("chat.postEphemeral")
    assert opened.args["trigger_id"] == trigger and opened.answer["ok"], opened.answer
    # The stand-in does expire trigger ids: one used after the charts is refused.
    late = standin.issue_trigger()
    clock.advance(3.5)
    with pytest.raises(Exception, match="expired_trigger_id"):
        slack.gateway.open_view(late, _view(opened))


# -- telling the user -------------------------------------------------------------------------

def test_buttons_and_the_app_home_tell_the_user_about_a_failure(slack, standin):
    with slack.edge.sessions.begin() as session:
        team = session.scalar(text("SELECT id FROM teams WHERE code = 'HAD-A'"))
        follow_up = goals.add_follow_up(session, MEMBER, team, "Tjek", MEMBER, NOW.date(), NOW)
    _refuse_writes(slack.edge, "follow_ups", "UPDATE")
    standin.locales[MEMBER] = "nb-NO"
    slack.press("followup_done", str(follow_up.id), response="done")
    (sent,) = standin.wait_for(lambda: standin.responses.get("done"))
    assert sent["text"].startswith("Beklager, noe gikk galt hos oss. Det er logget som "
                                   "hendelse ")
    # A button in a direct message (no response_url) and the App Home: a direct message and
    # the Home tab say so.
    payload = {"type": "block_actions", "user": {"id": MEMBER}, "team": {"id": "T0STANDIN"},
               "trigger_id": "1.2.4", "actions": [{"action_id": "followup_done",
                                                   "value": str(follow_up.id)}]}
    slack.interaction(payload)
    (dm,) = standin.wait_for(lambda: [c for c in standin.of("chat.postMessage")
                                      if c.args["channel"] == MEMBER])
    assert "hendelse" in dm.args["text"]
    standin.fail_next("views.publish", "invalid_blocks")
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D0HOME0001",
                 "tab": "home"})
    (_, shown) = standin.wait_for(lambda: standin.of("views.publish")[1:] and
                                  standin.of("views.publish"))
    assert "hendelse" in json.dumps(_view(shown), ensure_ascii=False)


# -- bolt and the environment -----------------------------------------------------------------

def test_bolt_ignores_slack_variables_in_the_environment(edge, teams, standin, monkeypatch,
                                                         caplog):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "another-secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    from tests.conftest import Clock

    with caplog.at_level(logging.INFO):
        made = SlackApp(edge, standin, Clock(NOW))
    try:
        assert made.app.oauth_flow is None and made.app.installation_store is None
        assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-from-the-environment"  # untouched
        assert made.command("/goal", "list").status == 200  # signed with the settings' secret
        (answered,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
        assert answered.answer["ok"]  # with the bot token (the stand-in checks it)
        assert not [r for r in caplog.records if r.name.startswith("slack_bolt")
                    and r.levelno >= logging.WARNING], caplog.text
    finally:
        made.bot.shutdown(wait=True)


@pytest.mark.parametrize("names", [("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"),
                                   ("SLACK_CLIENT_ID",)])
def test_oauth_variables_are_refused_at_the_start(cli, monkeypatch, names):
    for name in names:
        monkeypatch.setenv(name, "")
    result = cli("run", ok=False)
    assert result.exit_code == 1
    assert (f"Error: {' and '.join(names)} {'are' if len(names) == 2 else 'is'} set: teampuls "
            "serves one workspace with SLACK_BOT_TOKEN") in result.stderr
    assert os.environ["SLACK_CLIENT_ID"] == ""


# -- /kpi -------------------------------------------------------------------------------------

def test_kpi_refuses_a_text_too_long_to_be_a_question(slack, standin):
    standin.locales[MEMBER] = "da-DK"
    slack.command("/kpi", " ".join(["sygefravær"] + ["ord"] * 50_000))
    (answered,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"), timeout=30)
    assert answered.args["text"].startswith("Det er for langt til /kpi")


def test_kpi_parses_a_text_of_the_longest_length_keeping_every_word():
    from commands.kpi import MAX_TEXT, parse

    words = ("HAD-A " * (MAX_TEXT // 6)).strip()
    assert len(parse(words).words) == MAX_TEXT // 6
    assert parse("sygefravær uge 45 alle del").kpi == "sick_leave"

