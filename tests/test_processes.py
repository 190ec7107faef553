"""``teampuls run`` stops cleanly: on SIGTERM and SIGINT it takes no new work, lets the answers
in hand finish within the grace period (or abandons them), and ends every process it started
(the drawing processes and multiprocessing's resource tracker)."""

from __future__ import annotations

import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.conftest import SAMPLES
from tests.test_slack import (
    ADMIN,
    CHANNEL,
    FILES,
    MEMBER,
    WEEK,
    RunningBot,
    _environment,
    _free_port,
    command,
)

GRACE = 2.0  # the bot's --grace in these tests
MARGIN = 2.0  # what ending the drawing processes and the interpreter may add


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, start time) of a process; None when it is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[2]), int(fields[19])


def _processes() -> dict[int, tuple[str, int, int, int]]:
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every process whose parent chain leads to ``root``, or that is in
    its process group (the bot is started as a group leader, so its children are too)."""
    table = _processes()
    out: dict[int, int] = {}
    for pid, (_, _, group, start) in table.items():
        if pid == root:
            continue
        parent, seen = pid, set()
        while parent > 1 and parent not in seen:
            seen.add(parent)
            parent = table[parent][1] if parent in table else 0
            if parent == root:
                break
        if parent == root or group == root:
            out[pid] = start
    return out


def _survivors(children: dict[int, int], group: int) -> list[int]:
    """The recorded children still alive (same pid and start time, not a zombie), and any live
    process left in the bot's process group."""
    alive = [pid for pid, start in children.items()
             if (stat := _stat(pid)) is not None and stat[3] == start and stat[0] != "Z"]
    in_group = [pid for pid, stat in _processes().items() if stat[2] == group
                and stat[0] != "Z"]
    return sorted(set(alive) | set(in_group))


class Bot(RunningBot):
    """A bot whose output is read on a thread, so a test can wait for a line of its log."""

    def __init__(self, process: subprocess.Popen, port: int):
        super().__init__(process, port)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r}:\n{''.join(self.output)}") from None
            if text in line:
                return line


@pytest.fixture
def running(cli, edge, standin, tmp_path):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    cli("team", "edit", "VOJ-N", "--add-channel", CHANNEL, "--lang", "da")
    standin.members[CHANNEL] = [MEMBER, ADMIN]
    edge.engine.dispose()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port), "--host", "127.0.0.1",
         "--grace", str(GRACE)],
        env=_environment(edge.settings.database_url, standin, TEAMPULS_LOG_LEVEL="INFO"),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)  # a process group of its own: its children are found by it
    bot = Bot(process, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(bot.url + "/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"teampuls run did not start:\n{''.join(bot.output)}")
                time.sleep(0.1)
        yield bot
    finally:
        # Whatever the test found, nothing it started outlives it.
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for pid in _survivors({}, process.pid):
            os.kill(pid, signal.SIGKILL)


def _draw_a_chart(bot: Bot, standin) -> dict[int, int]:
    """Ask for a card with a chart and wait for it: the drawing processes exist and drew.
    Returns the bot's children then."""
    bot.post(command(WEEK, standin=standin))
    (posted,) = standin.wait_for(lambda: standin.of("chat.postEphemeral"), timeout=60)
    assert "Team VOJ-N" in posted.args["text"]
    children = _descendants(bot.process.pid)
    assert len(children) >= 2, children  # at least a drawing process and the resource tracker
    return children


def _stopped_in_time(bot: Bot, number: int) -> float:
    began = time.monotonic()
    bot.process.send_signal(number)
    try:
        bot.process.wait(timeout=GRACE + MARGIN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {GRACE + MARGIN} s after the signal:\n"
                             f"{''.join(bot.output)}") from None
    return time.monotonic() - began


def test_sigterm_lets_the_answer_in_hand_finish_and_ends_every_child(running, standin):
    children = _draw_a_chart(running, standin)
    standin.hold("chat.postEphemeral")  # the next answer stays in hand ...
    running.post(command(f"sick {WEEK}", standin=standin))
    standin.wait_for(lambda: standin.waiting("chat.postEphemeral"), timeout=60)
    running.process.send_signal(signal.SIGTERM)
    running.wait_for_line("SIGTERM: teampuls stops taking work")
    began = time.monotonic()
    standin.release("chat.postEphemeral")  # ... until the bot is stopping; then it finishes
    running.process.wait(timeout=GRACE + MARGIN)
    assert time.monotonic() - began < GRACE + MARGIN
    assert running.process.returncode == 0, "".join(running.output)
    assert len(standin.of("chat.postEphemeral")) == 2  # the answer in hand was given
    running._reader.join(5)
    assert "every answer in hand finished" in "".join(running.output)
    assert _survivors(children, running.process.pid) == []


def test_sigint_abandons_an_answer_stuck_past_the_grace_period_and_ends_every_child(
        running, standin):
    children = _draw_a_chart(running, standin)
    standin.hold("chat.postEphemeral")  # Slack does not answer this one in time
    running.post(command(f"sick {WEEK}", standin=standin))
    standin.wait_for(lambda: standin.waiting("chat.postEphemeral"), timeout=60)
    seconds = _stopped_in_time(running, signal.SIGINT)
    assert GRACE - 0.5 <= seconds < GRACE + MARGIN  # it waited for the answer, not longer
    assert running.process.returncode == 0, "".join(running.output)
    running._reader.join(5)
    assert "1 answer(s) in hand and 0 queued abandoned" in "".join(running.output)
    assert _survivors(children, running.process.pid) == []


def test_sigterm_when_idle_stops_at_once(running, standin):
    children = _draw_a_chart(running, standin)
    seconds = _stopped_in_time(running, signal.SIGTERM)
    running._reader.join(5)
    assert seconds < MARGIN and running.process.returncode == 0, "".join(running.output)
    assert _survivors(children, running.process.pid) == []


def test_after_kill_9_the_drawing_processes_end_themselves(running, standin):
    children = _draw_a_chart(running, standin)
    running.process.kill()  # no clean-up of any kind
    running.process.wait()
    deadline = time.monotonic() + 10
    while (left := _survivors(children, running.process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel's reaping is not an event the test can wait on
    assert left == []
