"""Claims (``storage.claims``) tell a dead claimant from a live one: a claim whose process is
gone from this host is taken over at once; one of a live process, or of a process on another
host, only when its lease runs out."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

from storage.claims import Claimant, _process_start, claim_row, hold_of
from storage.models import JobRun

LEASE = dt.timedelta(seconds=900)
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)


def dead_claimant() -> Claimant:
    """The claimant identity of a process of this host that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    try:
        start = _process_start(process.pid)
        assert start, "a live process has a start time"
        return Claimant(socket.gethostname(), process.pid, start)
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def _claim(edge, poster: str, now: dt.datetime, claimant: Claimant | None = None) -> int | None:
    with edge.sessions.begin() as session:
        return claim_row(session, JobRun, {"job": "digest", "period": "2026-W48"}, poster, now,
                         LEASE, claimant)


def test_this_process_is_alive_and_a_reaped_one_is_gone():
    here = Claimant.this_process()
    assert here.pid == os.getpid() and here.start and not here.gone()
    assert dead_claimant().gone()
    reused = Claimant(here.host, here.pid, here.start.rsplit("/", 1)[0] + "/1")
    assert reused.gone()  # this pid, but not the process that claimed: the id was reused
    assert not Claimant("another-host", 4242, here.start).gone()  # elsewhere: cannot tell


def test_a_live_claimant_hidden_by_proc_is_not_taken_for_dead(monkeypatch):
    """Where /proc hides other users' processes (hidepid, systemd's ProtectProc=invisible), a
    live claimant's /proc entry cannot be read: that says nothing about whether it is alive, so
    its claim is not taken over (it would be posted twice)."""
    import pathlib

    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    try:
        claimant = Claimant(socket.gethostname(), process.pid, _process_start(process.pid))
        hidden = f"/proc/{process.pid}/"
        read_text = pathlib.Path.read_text

        def as_hidepid(path, *args, **kwargs):
            if str(path).startswith(hidden):
                raise FileNotFoundError(2, "No such file or directory", str(path))
            return read_text(path, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "read_text", as_hidepid)
        assert not claimant.gone()
    finally:
        process.stdin.close()
        process.wait(timeout=10)
    assert claimant.gone()  # ended: kill(pid, 0) says so, whatever /proc shows


def test_a_dead_claimants_claim_is_taken_over_at_once(edge):
    first = _claim(edge, "killed", T0, dead_claimant())
    assert first is not None
    assert _claim(edge, "next", T0 + dt.timedelta(seconds=5)) == first  # not after 900 s
    assert _claim(edge, "third", T0 + dt.timedelta(seconds=6)) is None  # the new one is alive
    with edge.sessions.begin() as session:
        row = session.get(JobRun, first)
        assert (row.claimed_by, row.attempts, row.claimed_pid) == ("next", 2, os.getpid())
        hold = hold_of(session, JobRun, {"job": "digest", "period": "2026-W48"}, LEASE)
    assert hold.alive and hold.claimant == Claimant.this_process()
    assert hold.retry_at == T0 + dt.timedelta(seconds=5) + LEASE


def test_a_claim_held_on_another_host_waits_for_its_lease(edge):
    elsewhere = Claimant("another-host", 4242, "boot/pid:[1]/99")
    assert _claim(edge, "remote", T0, elsewhere) is not None
    assert _claim(edge, "here", T0 + LEASE - dt.timedelta(seconds=1)) is None
    with edge.sessions.begin() as session:
        hold = hold_of(session, JobRun, {"job": "digest", "period": "2026-W48"}, LEASE)
    assert not hold.alive and hold.claimant == elsewhere and hold.retry_at == T0 + LEASE
    assert _claim(edge, "here", T0 + LEASE + dt.timedelta(seconds=1)) is not None
