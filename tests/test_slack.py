"""End to end: ``teampuls run`` in HTTP mode against the local Slack stand-in, driven by signed
slash-command requests, as Slack would send them."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import SAMPLES
from tests.slack_standin import TOKEN, SlackStandIn

SECRET = "standin-signing-secret"
ADMIN = "U0ADMIN001"
MEMBER = "U0MEMBER01"
CHANNEL = "C0TEAMVOJN"  # linked to VOJ-N
OTHER_CHANNEL = "C0RANDOM01"
WEEK = "2025-W47"
FILES = ("staff", "hours", "visits", "norms")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(database_url: str, standin: SlackStandIn, **changes: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TEAMPULS_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_BASE_URL=standin.base_url, TEAMPULS_ADMINS=ADMIN,
               TEAMPULS_LANGUAGE="en")
    env.update(changes)
    return env


class RunningBot:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def post(self, form: dict, *, secret: str = SECRET, timestamp: int | None = None):
        """POST a slash command signed as Slack signs it; returns (status, seconds)."""
        body = urllib.parse.urlencode(form)
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(),
                                     hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url + "/slack/events", data=body.encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - started


def command(text: str, *, user: str = MEMBER, channel: str = CHANNEL, name: str = "/kpi",
            response: str = "r1", standin: SlackStandIn | None = None) -> dict:
    return {"command": name, "text": text, "user_id": user, "channel_id": channel,
            "team_id": "T0STANDIN", "response_url": standin.response_url(response) if standin
            else "", "trigger_id": "1.2.3"}


@pytest.fixture
def bot(cli, edge, standin, tmp_path):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    cli("team", "edit", "VOJ-N", "--add-channel", CHANNEL, "--lang", "da")
    standin.members[CHANNEL] = [MEMBER, ADMIN]
    edge.engine.dispose()  # the bot process has the database to itself from here
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port), "--host", "127.0.0.1"],
        env=_environment(edge.settings.database_url, standin), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = RunningBot(process, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(running.url + "/healthz", timeout=1) as response:
                assert response.read() == b"ok\n"
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"teampuls run did not start:\n{process.stdout.read()}")
            time.sleep(0.1)
    standin.wait_for(lambda: standin.of("conversations.members"))  # members read at start
    _wait_for_member(edge, CHANNEL, ADMIN)  # ... and written
    yield running
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        process.kill()


def _image_file(call) -> str | None:
    blocks = call.args.get("blocks") or []
    return next((b["slack_file"]["id"] for b in blocks if b["type"] == "image"), None)


def test_card_is_acknowledged_then_answered_privately_with_a_chart(bot, standin):
    status, seconds = bot.post(command(WEEK, standin=standin))
    assert status == 200 and seconds < 3
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert posted.args["channel"] == CHANNEL and posted.args["user"] == MEMBER
    assert "Team VOJ-N" in posted.args["text"] and "uge 47 2025" in posted.args["text"]
    file_id = _image_file(posted)
    assert standin.uploads[file_id].startswith(b"\x89PNG")
    (completed,) = standin.of("files.completeUploadExternal")
    assert not completed.args.get("channel_id")  # the chart is not shared anywhere
    assert standin.of("users.info")[0].args["user"] == MEMBER


def test_dashboard_is_shown_privately_with_its_image(bot, standin):
    status, seconds = bot.post(command(WEEK, name="/dashboard", standin=standin))
    assert status == 200 and seconds < 3
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert posted.args["user"] == MEMBER
    assert "Ugens dashboard for team VOJ-N" in posted.args["text"]  # the team's language
    assert standin.uploads[_image_file(posted)].startswith(b"\x89PNG")
    (completed,) = standin.of("files.completeUploadExternal")
    assert not completed.args.get("channel_id")


def test_share_uploads_the_chart_into_the_channel(bot, standin):
    assert bot.post(command(f"sick {WEEK} share", standin=standin))[0] == 200
    (completed,) = standin.wait_for(lambda: standin.of("files.completeUploadExternal"))
    assert completed.args["channel_id"] == CHANNEL
    assert "Sygefravær" in completed.args["initial_comment"]
    assert not standin.of("chat.postEphemeral")


def test_users_language_wins_and_mistakes_get_a_did_you_mean(bot, standin):
    standin.locales[MEMBER] = "nb-NO"
    # ("sygefravar", without ø, is sick leave itself: issue 20)
    bot.post(command("sygefravr", standin=standin))
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    assert posted.args["text"] == "Jeg kjenner ikke sygefravr. Mente du sykefravær?"
    assert not standin.uploads


def test_a_bad_or_stale_signature_gets_401_and_touches_nothing(bot, standin):
    answers = lambda: [c for c in standin.calls  # noqa: E731 - the bot's scheduler works on
                       if c.method in ("chat.postEphemeral", "users.info")]
    before = len(answers())
    assert bot.post(command(WEEK), secret="wrong-secret")[0] == 401
    assert bot.post(command(WEEK), timestamp=int(time.time()) - 600)[0] == 401
    time.sleep(0.5)
    assert len(answers()) == before


def test_rate_limits_are_waited_out(bot, standin):
    standin.rate_limit_next("chat.postEphemeral", retry_after=1)
    bot.post(command(WEEK, standin=standin))
    calls = standin.wait_for(lambda: len(standin.of("chat.postEphemeral")) == 2
                             and standin.of("chat.postEphemeral"))
    assert calls[1].at - calls[0].at >= 0.9


def test_a_conversation_the_bot_is_not_in_is_answered_through_response_url(bot, standin):
    standin.not_in.add(OTHER_CHANNEL)
    bot.post(command(f"VOJ-N {WEEK}", channel=OTHER_CHANNEL, standin=standin, response="dm"))
    (sent,) = standin.wait_for(lambda: standin.responses.get("dm"))
    assert sent["response_type"] == "ephemeral" and "Team VOJ-N" in sent["text"]


def test_failures_are_logged_and_told_with_an_incident(bot, standin):
    standin.fail_next("chat.postEphemeral", "fatal_error")
    bot.post(command(WEEK, standin=standin, response="oops"))
    (sent,) = standin.wait_for(lambda: standin.responses.get("oops"))
    assert "incident" in sent["text"]


def test_fifty_commands_at_once_are_all_acknowledged_in_time(bot, standin):
    results = []

    def ask(n):
        results.append(bot.post(command(f"{WEEK}", user=f"U0USER{n:04d}", standin=standin)))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 50
    assert all(status == 200 and seconds < 3 for status, seconds in results), results
    standin.wait_for(lambda: len(standin.of("chat.postEphemeral")) == 50, timeout=120)


def test_admin_commands_are_for_admins(bot, standin, edge):
    bot.post(command("admin link HAD-C", name="/teampuls", channel=OTHER_CHANNEL,
                     standin=standin))
    (refused,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    # the user is in VOJ-N's channel, and VOJ-N speaks Danish
    assert refused.args["text"].startswith("Kun teampuls-admins kan sætte teams op.")
    standin.members[OTHER_CHANNEL] = ["U0NEWMEMBR"]
    bot.post(command(f"admin link HAD-C <#{OTHER_CHANNEL}|had-c>", name="/teampuls",
                     user=ADMIN, standin=standin))
    done = standin.wait_for(lambda: len(standin.of("chat.postEphemeral")) == 2
                            and standin.of("chat.postEphemeral"))
    assert f"<#{OTHER_CHANNEL}> er nu team HAD-Cs kanal." in done[1].args["text"]
    standin.wait_for(lambda: any(c.args["channel"] == OTHER_CHANNEL
                                 for c in standin.of("conversations.members")))
    _wait_for_member(edge, OTHER_CHANNEL, "U0NEWMEMBR")  # written after they are read
    # a member of HAD-C's channel asking elsewhere gets HAD-C
    bot.post(command(WEEK, user="U0NEWMEMBR", channel="C0ELSEWHER", standin=standin))
    answers = standin.wait_for(lambda: len(standin.of("chat.postEphemeral")) == 3
                               and standin.of("chat.postEphemeral"))
    assert "Team HAD-C" in answers[2].args["text"]


def _wait_for_member(edge, channel: str, user: str, timeout: float = 10.0) -> None:
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with edge.engine.connect() as connection:
            if connection.execute(text("SELECT 1 FROM channel_members WHERE channel_id = :c "
                                       "AND user_id = :u"), {"c": channel, "u": user}).first():
                return
        time.sleep(0.05)
    raise AssertionError(f"{user} never became a member of {channel}")


def test_help_lists_every_command(bot, standin):
    bot.post(command("", name="/teampuls", standin=standin))
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"))
    for example in ("/kpi", "/kpi sygefravær", "/dashboard", "/teampuls admin link HAD-C"):
        assert f"`{example}`" in posted.args["text"]
    shown = posted.args["blocks"][0]["text"]["text"]
    assert shown.startswith("*teampuls* viser")  # the team's language: Danish, in mrkdwn


@pytest.mark.parametrize("changes, named", [
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)"),
    ({"SLACK_APP_TOKEN": "not-an-app-token"}, "SLACK_APP_TOKEN"),
    ({"SLACK_API_BASE_URL": "http://127.0.0.1:9/api"}, "SLACK_API_BASE_URL"),
])
def test_wrong_settings_are_named_not_a_traceback(standin, database_url, tmp_path, changes,
                                                  named):
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--port", str(_free_port())],
                          env=_environment(database_url, standin, **changes), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert named in done.stderr and "Traceback" not in done.stderr


def test_the_console_answers_like_slack(cli, tmp_path):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    charts = tmp_path / "charts"
    out = cli("chat", "--lang", "nb", "--charts", charts, "-c", f"/kpi VOJ-N {WEEK}",
              "-c", f"/kpi sykefravær VOJ-N {WEEK}", "-c", "/kpi blah").output
    assert "Team VOJ-N, uke 47 2025" in out
    assert "Sykefravær, team VOJ-N, uke 47 2025" in out
    assert "Jeg kjenner ikke ordet blah." in out
    saved = sorted(p.name for p in charts.iterdir())
    assert saved == ["teampuls-VOJ-N-2025-W47.png", "teampuls-VOJ-N-sick_leave-2025-W47.png"]

