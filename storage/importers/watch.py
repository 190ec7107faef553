"""Exports that arrive by themselves: the sets of files that municipal systems drop in a
folder, imported once each and moved aside (``teampuls import DIR`` and ``--watch DIR``).

A *set* is every export file directly in the folder (not in a subfolder): a name ending in
``.csv`` or ``.xlsx`` (any case) that does not begin with ``.`` or ``~`` (hidden files, the
temporary names that copy tools and Excel write under). Other names are left alone. A set is
*ready* when none of its files has changed for ``settle`` seconds: each file's modification
time is at least ``settle`` seconds old, and (for a watcher) its size and modification time
are those seen at the poll before. A file still being written is never imported.

A ready set is imported in one ``run_import`` call, all or nothing, each file's kind recognised
from its header; files in order of modification time, then name, so that of two exports of the
same kind the newer one's rows replace the older one's (KPI values do not depend on the order of
different kinds: the contract says so). After the commit the files are moved with
``os.replace`` (a rename within the file system) to ``done/<time>/``; a refused set to
``failed/<time>/`` with ``errors.txt`` beside it, the errors as ``teampuls import`` prints them.
A crash between the commit and the moves leaves the files where they were: the next run imports
the same files again, which the importer answers with "Nothing changed" and writes nothing.

The time the last set arrived, and whether a silence since then has been told, are kept in
``.teampuls-watch.json`` in the folder, so that a scheduled one-shot run warns once per
silence just as a watcher does.

Nothing here reads the clock or sends anything: the caller passes ``now`` and decides whom to
tell (``bot.import_watch``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pathlib
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from storage.importers.runner import ImportRefused, ImportResult, import_files

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".xlsx")
DONE, FAILED = "done", "failed"
ERRORS_FILE = "errors.txt"
STATE_FILE = ".teampuls-watch.json"


@dataclass(frozen=True)
class Entry:
    """One export file as seen at a poll."""

    path: pathlib.Path
    size: int
    mtime_ns: int

    @property
    def stamp(self) -> tuple[int, int]:
        return self.size, self.mtime_ns


def is_export(path: pathlib.Path) -> bool:
    """Whether a name in the folder is an export file of a set."""
    return (path.suffix.lower() in SUFFIXES and not path.name.startswith((".", "~")))


def scan(folder: pathlib.Path) -> list[Entry]:
    """The export files directly in ``folder``, oldest first (modification time, then name)."""
    entries = []
    with os.scandir(folder) as found:
        for item in found:
            path = pathlib.Path(item.path)
            if not is_export(path) or not item.is_file(follow_symlinks=False):
                continue
            try:
                stat = item.stat(follow_symlinks=False)
            except FileNotFoundError:  # moved away between listing and looking
                continue
            entries.append(Entry(path, stat.st_size, stat.st_mtime_ns))
    return sorted(entries, key=lambda e: (e.mtime_ns, e.path.name))


def settled(entries: list[Entry], now: dt.datetime, settle: float,
            before: dict[pathlib.Path, tuple[int, int]] | None = None) -> bool:
    """Whether no file of the set has changed for ``settle`` seconds: each one's modification
    time is that old and, when an earlier poll's ``before`` is given, its size and modification
    time are the same as then."""
    if not entries:
        return False
    limit = now.timestamp() - settle
    for entry in entries:
        if entry.mtime_ns / 1e9 > limit:
            return False
        if before is not None and before.get(entry.path) != entry.stamp:
            return False
    return True


@dataclass
class Outcome:
    """What became of one set."""

    files: list[str]
    moved_to: pathlib.Path
    result: ImportResult | None = None  # imported (perhaps "Nothing changed")
    refused: ImportRefused | None = None
    unmoved: list[str] = field(default_factory=list)  # files that could not be moved

    @property
    def failed(self) -> bool:
        return self.refused is not None


def error_text(refused: ImportRefused) -> str:
    """The errors as ``teampuls import`` prints them: the first 100, the count of the others,
    and the summary line."""
    return "\n".join([*refused.lines(), f"Error: {refused}"]) + "\n"


def import_set(folder: pathlib.Path, entries: list[Entry], sessions: sessionmaker[Session], *,
               max_bytes: int, now: dt.datetime) -> Outcome:
    """Import the set ``entries`` of ``folder`` in one transaction and move its files to
    ``done/<time>/`` after the commit, or to ``failed/<time>/`` with ``errors.txt`` when it is
    refused. Errors other than a refusal (the database is down) propagate, and the files stay
    where they are for the next try."""
    paths = [e.path for e in entries]
    files = [p.name for p in paths]
    try:
        result = import_files(sessions, [(p, None) for p in paths], max_bytes=max_bytes)
    except ImportRefused as refused:
        target = _new_folder(folder / FAILED, now)
        (target / ERRORS_FILE).write_text(error_text(refused), encoding="utf-8")
        outcome = Outcome(files, target, refused=refused)
    else:
        outcome = Outcome(files, _new_folder(folder / DONE, now), result=result)
    for path in paths:
        try:
            os.replace(path, outcome.moved_to / path.name)
        except OSError as error:
            log.error("an imported export could not be moved to %s: %s", outcome.moved_to,
                      type(error).__name__)
            outcome.unmoved.append(path.name)
    return outcome


def _new_folder(parent: pathlib.Path, now: dt.datetime) -> pathlib.Path:
    """A new folder named after ``now`` in UTC (``2026-11-22T083000Z``), ``-2``, ``-3`` … when
    that name is taken."""
    parent.mkdir(exist_ok=True)
    name = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    for n in range(1, 10_000):
        candidate = parent / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{parent / name}: too many sets in one second")


# -- silence ----------------------------------------------------------------------------------

@dataclass
class State:
    """What the folder remembers between runs: since when it has waited for a set (the last
    arrival, or the first run), and the silence already told (its start), if any."""

    since: dt.datetime
    told: dt.datetime | None = None


def load_state(folder: pathlib.Path, now: dt.datetime) -> State:
    path = folder / STATE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        since = dt.datetime.fromisoformat(raw["since"])
        told = dt.datetime.fromisoformat(raw["told"]) if raw.get("told") else None
        return State(since, told)
    except FileNotFoundError:
        return State(now)
    except (ValueError, KeyError, TypeError) as error:
        log.warning("%s is unreadable (%s): the silence is counted from now", path,
                    type(error).__name__)
        return State(now)


def save_state(folder: pathlib.Path, state: State) -> None:
    """Write the state beside the exports (a new file renamed over the old one)."""
    path = folder / STATE_FILE
    partial = folder / (STATE_FILE + ".new")
    partial.write_text(json.dumps({"since": state.since.isoformat(),
                                   "told": state.told.isoformat() if state.told else None}),
                       encoding="utf-8")
    os.replace(partial, path)


def silence_to_tell(state: State, now: dt.datetime, expect_every: dt.timedelta) -> bool:
    """Whether no set has arrived for longer than ``expect_every`` and this silence has not
    been told yet."""
    return now - state.since > expect_every and state.told != state.since


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``36h``, ``7d`` or ``2w`` as a time span; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 36h, 7d or 2w")
    return dt.timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})

