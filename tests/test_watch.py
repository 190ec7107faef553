"""Exports that arrive by themselves: ``teampuls import DIR`` and ``teampuls import --watch DIR``
import each settled set of files once, move it to done/ or failed/ (with errors.txt), and tell
the admins through Slack (the stand-in) of a refused set and of a long silence, once each."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
import shutil

import pytest
from sqlalchemy import func, select

from bot.edge import Edge
from bot.import_watch import Watcher
from storage.importers import watch
from storage.models import ImportRun, KpiVersion, Visit
from tests.conftest import NOW, SAMPLES, Cli, Clock
from tests.slack_standin import TOKEN

KINDS = ("staff", "hours", "visits", "norms")
ADMIN = "U0ADMIN001"


def _age(path: pathlib.Path, now: dt.datetime, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` before ``now``."""
    stamp = now.timestamp() - seconds
    os.utime(path, (stamp, stamp))


def _drop(folder: pathlib.Path, now: dt.datetime = NOW, age: float = 120,
          kinds=KINDS) -> list[pathlib.Path]:
    """The canonical sample exports, written into ``folder`` ``age`` seconds before ``now``."""
    folder.mkdir(exist_ok=True)
    paths = []
    for kind in kinds:
        path = folder / f"{kind}.csv"
        shutil.copy(SAMPLES / "canonical" / f"{kind}.csv", path)
        _age(path, now, age)
        paths.append(path)
    return paths


def _bad_hours(folder: pathlib.Path, now: dt.datetime = NOW) -> pathlib.Path:
    path = folder / "hours.csv"
    lines = (SAMPLES / "canonical" / "hours.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2025-09-03", "2025-13-45")
    lines[7] = lines[7].replace("worked", "napping")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _age(path, now, 120)
    return path


def _exports(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and watch.is_export(p))


def _sets(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _visits(edge: Edge) -> int:
    with edge.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(Visit))


def _slack_cli(edge: Edge, standin, clock: Clock | None = None) -> Cli:
    """The command line with Slack settings pointing at the stand-in and one admin."""
    settings = dataclasses.replace(edge.settings, slack_bot_token=TOKEN,
                                   slack_api_base_url=standin.base_url,
                                   admins=frozenset({ADMIN}))
    slack = Edge(settings, NOW, clock=clock)
    slack.__dict__["engine"] = edge.engine  # one engine per test database
    return Cli(slack)


def _told(standin) -> list[str]:
    return [m["text"] for m in standin.posted(ADMIN)]


def test_a_settled_set_is_imported_once_and_moved_to_done(cli, edge, tmp_path):
    folder = tmp_path / "imports"
    _drop(folder)
    (folder / "notes.txt").write_text("not an export", encoding="utf-8")
    (folder / ".visits.csv.part").write_text("a copy under way", encoding="utf-8")
    result = cli("import", folder)
    assert "Imported" in result.output and "35,185 visits rows from 4 files" in result.output
    [done] = _sets(folder / "done")
    assert sorted(p.name for p in done.iterdir()) == sorted(f"{k}.csv" for k in KINDS)
    assert _exports(folder) == [] and not (folder / "failed").exists()
    # Other names are left alone.
    assert (folder / "notes.txt").exists() and (folder / ".visits.csv.part").exists()
    assert _visits(edge) == 35_185
    assert '"sick_leave": 0.' in cli("kpi", "--team", "HAD-C", "--week", "2025-W50",
                                     "--json").output
    # The set is imported once: the next run finds nothing.
    assert "No export set ready" in cli("import", folder).output
    assert len(_sets(folder / "done")) == 1


def test_a_refused_set_lands_in_failed_with_the_errors_and_nothing_is_imported(cli, edge,
                                                                              tmp_path):
    folder = tmp_path / "imports"
    staff, *_ = _drop(folder, kinds=("staff",))
    hours = _bad_hours(folder)
    # What the command line prints for these files, named one by one.
    printed = cli("import", staff, hours, ok=False).stderr
    assert _exports(folder) == ["hours.csv", "staff.csv"]  # files named alone stay put
    result = cli("import", folder, ok=False)
    assert result.exit_code == 1
    [failed] = _sets(folder / "failed")
    assert f"the files and errors.txt are in {failed}" in result.stderr
    assert sorted(p.name for p in failed.iterdir()) == ["errors.txt", "hours.csv", "staff.csv"]
    errors = (failed / "errors.txt").read_text(encoding="utf-8")
    assert errors == printed
    assert "hours.csv, line 4, column date" in errors and "2 errors in 1 file" in errors
    assert _exports(folder) == [] and not (folder / "done").exists()
    assert _visits(edge) == 0
    assert "No teams yet" in cli("team", "list").output


def test_a_file_still_being_written_is_not_imported(cli, edge, tmp_path):
    folder = tmp_path / "imports"
    _drop(folder, kinds=("staff", "hours", "norms"))
    visits = folder / "visits.csv"
    data = (SAMPLES / "canonical" / "visits.csv").read_bytes()
    visits.write_bytes(data[:len(data) // 2])
    _age(visits, NOW, 10)  # written to 10 seconds ago
    assert ("No export set ready" in (result := cli("import", folder).output)
            and "1 file changed within the last 60 seconds" in result)
    assert "No export set ready" in cli("import", folder, "--settle", "30").output
    assert _exports(folder) == sorted(f"{k}.csv" for k in KINDS)
    assert not (folder / "done").exists() and not (folder / "failed").exists()
    assert _visits(edge) == 0
    # The writer finishes; the set goes in once it has been quiet for longer than --settle.
    visits.write_bytes(data)
    _age(visits, NOW, 10)
    assert "No export set ready" in cli("import", folder).output
    assert "Imported" in cli("import", folder, "--settle", "5").output
    assert _visits(edge) > 0 and _exports(folder) == []


def test_a_watcher_waits_for_a_file_that_grows_between_polls(edge, tmp_path):
    clock = Clock(NOW)
    timed = Edge(edge.settings, NOW, clock=clock)
    timed.__dict__["engine"] = edge.engine
    folder = tmp_path / "imports"
    _drop(folder, kinds=("staff", "hours", "norms"))
    data = (SAMPLES / "canonical" / "visits.csv").read_bytes()
    visits = folder / "visits.csv"
    visits.write_bytes(data[:len(data) // 3])
    _age(visits, clock.now, 0)
    watcher = Watcher(timed, folder, settle=60)
    assert watcher.poll().waiting == ["visits.csv"] and _visits(edge) == 0
    clock.now += dt.timedelta(seconds=30)
    visits.write_bytes(data[:2 * len(data) // 3])
    _age(visits, clock.now, 0)
    assert watcher.poll().outcome is None
    # A writer that keeps an old modification time: the size seen to change still holds it.
    clock.now += dt.timedelta(seconds=90)
    visits.write_bytes(data)
    _age(visits, clock.now, 3600)
    assert watcher.poll().outcome is None and _visits(edge) == 0
    clock.now += dt.timedelta(seconds=30)
    outcome = watcher.poll().outcome
    assert outcome is not None and not outcome.failed and outcome.result.rows["visits"] == 35_185
    assert _visits(edge) == 35_185


def test_a_watcher_imports_each_set_as_it_arrives(cli, edge, tmp_path):
    folder = tmp_path / "imports"
    _drop(folder)
    result = cli("import", "--watch", folder, "--polls", "3", "--every", "0")
    assert result.exit_code == 0
    assert len(_sets(folder / "done")) == 1 and _visits(edge) == 35_185
    _bad_hours(folder)
    result = cli("import", "--watch", folder, "--polls", "2", "--every", "0", ok=False)
    assert result.exit_code == 1 and len(_sets(folder / "failed")) == 1
    assert _visits(edge) == 35_185


def test_a_crash_between_the_commit_and_the_moves_changes_nothing_the_next_time(
        cli, edge, tmp_path, monkeypatch):
    folder = tmp_path / "imports"
    _drop(folder)

    class Crash(BaseException):
        """The process ends here, after the commit (power cut, kill -9)."""

    replace = os.replace

    def crash(source, target):
        if pathlib.Path(target).parent.parent.name == "done":
            raise Crash  # moving the first file of the imported set
        replace(source, target)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        cli("import", folder)
    monkeypatch.undo()
    assert _exports(folder) == sorted(f"{k}.csv" for k in KINDS) and _visits(edge) == 35_185
    with edge.sessions.begin() as session:
        before = (session.scalar(select(func.count()).select_from(ImportRun)),
                  session.scalar(select(KpiVersion.version)))
    result = cli("import", folder)
    assert "Nothing changed" in result.output
    with edge.sessions.begin() as session:
        assert (session.scalar(select(func.count()).select_from(ImportRun)),
                session.scalar(select(KpiVersion.version))) == before
    assert _exports(folder) == [] and len([d for d in _sets(folder / "done")
                                           if any(d.iterdir())]) == 1


def test_the_admin_hears_of_a_refused_set_once(edge, standin, tmp_path):
    slack = _slack_cli(edge, standin)
    folder = tmp_path / "imports"
    _drop(folder, kinds=("staff",))
    _bad_hours(folder)
    assert slack("import", folder, ok=False).exit_code == 1
    [failed] = _sets(folder / "failed")
    [text] = _told(standin)
    assert "were refused: 2 errors in 2 files" in text and str(failed) in text
    assert "2025-13-45" not in text and "napping" not in text  # no export's content in Slack
    slack("import", folder)
    slack("import", "--watch", folder, "--polls", "3", "--every", "0")
    assert len(_told(standin)) == 1


def test_the_admin_hears_of_a_long_silence_once_per_silence(edge, standin, tmp_path):
    clock = Clock(NOW)
    slack = _slack_cli(edge, standin, clock)
    folder = tmp_path / "imports"
    folder.mkdir()
    for days in (0, 3, 6.9):
        clock.now = NOW + dt.timedelta(days=days)
        slack("import", folder, "--expect-every", "7d")
    assert _told(standin) == []
    clock.now = NOW + dt.timedelta(days=8)
    slack("import", folder, "--expect-every", "7d")
    [text] = _told(standin)
    assert "No exports have arrived" in text and "for 8.0 days" in text and "every 7d" in text
    clock.now = NOW + dt.timedelta(days=9)
    slack("import", "--watch", folder, "--expect-every", "7d", "--polls", "3", "--every", "0")
    assert len(_told(standin)) == 1
    # A set arrives: the silence ends, and a new one is told again once.
    _drop(folder, clock.now)
    slack("import", folder, "--expect-every", "7d")
    for days in (10, 16, 17, 18):
        clock.now = NOW + dt.timedelta(days=days + 0.5)
        slack("import", folder, "--expect-every", "7d")
    assert len(_told(standin)) == 2


def test_without_slack_a_silence_is_logged(cli, edge, tmp_path, caplog):
    clock = Clock(NOW)
    edge.clock = clock
    folder = tmp_path / "imports"
    folder.mkdir()
    cli("import", folder, "--expect-every", "36h")
    clock.now = NOW + dt.timedelta(hours=37)
    cli("import", folder, "--expect-every", "36h")
    assert "no export has arrived in the import folder for 1.5 days" in caplog.text


def test_bad_options_are_refused_clearly(cli, tmp_path):
    folder = tmp_path / "imports"
    folder.mkdir()
    result = cli("import", folder, "--expect-every", "weekly", ok=False)
    assert result.exit_code == 1 and "'weekly' is not a duration" in result.stderr
    result = cli("import", "--watch", SAMPLES / "canonical" / "staff.csv", ok=False)
    assert result.exit_code == 1 and "--watch takes one folder" in result.stderr
    staff = SAMPLES / "canonical" / "staff.csv"
    result = cli("import", staff, "--polls", "2", ok=False)
    assert result.exit_code == 1 and "are for a folder" in result.stderr


def test_durations():
    assert watch.parse_duration("7d") == dt.timedelta(days=7)
    assert watch.parse_duration("36h") == dt.timedelta(hours=36)
    assert watch.parse_duration("2W") == dt.timedelta(weeks=2)
    for bad in ("7", "0d", "-1d", "7 days", ""):
        with pytest.raises(ValueError):
            watch.parse_duration(bad)
