"""One import command: read and check every file, write in the caller's transaction, and
recompute the KPI values of exactly the team-weeks it touched.

If any row of any file breaks a rule, or a file holds no rows, ``run_import`` raises
``ImportRefused`` with the first errors and the count of the others, and the caller rolls back,
so nothing is written. The same files as the last import, with no data changed since, are not
imported again (``ImportResult.unchanged``).
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import importlib
import logging
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.error_cap import LIMIT, more_errors
from storage.importers.contract import KINDS, recognise_kind
from storage.importers.loading import KEYS, DuplicateKeys, TeamsAdded, Writer, weeks_of
from storage.importers.reading import UnreadableFile, open_table
from storage.importers.validation import ChunkChecker, RowError, resolve_header
from storage.models import ImportRun, KpiVersion

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


MAX_LISTED = LIMIT  # errors named one by one; the others are counted


@dataclass(frozen=True)
class FileError:
    file: str
    error: RowError

    def __str__(self) -> str:
        return self.error.describe(self.file)


class ErrorLog:
    """The errors of one import: the first ``limit`` in order of the files on the command line
    and of their lines are kept, the others only counted, so that a file of millions of bad
    rows costs neither millions of lines of output nor the memory to hold them."""

    def __init__(self, limit: int = MAX_LISTED):
        self.limit = limit
        self.total = 0
        self._kept: list[tuple[int, RowError, str]] = []  # (file index, error, file name)
        self._per_file: dict[int, int] = {}

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, index: int, name: str, errors: list[RowError]) -> None:
        if not errors:
            return
        self.count(index, len(errors))
        if self.full_after(index, min(e.line for e in errors)):
            return
        kept = heapq.nsmallest(self.limit, errors)
        self._kept = sorted(self._kept + [(index, e, name) for e in kept],
                            key=lambda k: (k[0], k[1]))[:self.limit]

    def count(self, index: int, n: int) -> None:
        self.total += n
        self._per_file[index] = self._per_file.get(index, 0) + n

    def full_after(self, index: int, line: int) -> bool:
        """Whether errors of file ``index`` from ``line`` on are too late to be listed."""
        if len(self._kept) < self.limit:
            return False
        last_index, last_error, _ = self._kept[-1]
        return (index, line) > (last_index, last_error.line)

    def refused(self) -> ImportRefused:
        listed = [FileError(name, error) for _, error, name in self._kept]
        shown: dict[int, int] = {}
        for index, _, _ in self._kept:
            shown[index] = shown.get(index, 0) + 1
        more_files = sum(1 for i, n in self._per_file.items() if n > shown.get(i, 0))
        return ImportRefused(listed, self.total, len(self._per_file), more_files)


class ImportRefused(Exception):
    """Some rows broke the contract; nothing was written. ``errors`` are the first
    ``MAX_LISTED``; ``more`` says how many others there are."""

    def __init__(self, errors: list[FileError], total: int | None = None,
                 files: int | None = None, more_files: int = 0):
        self.errors = errors
        self.total = len(errors) if total is None else total
        files = len({e.file for e in errors}) if files is None else files
        self.more_files = more_files
        super().__init__(f"{self.total:,} error{'s' if self.total != 1 else ''} in "
                         f"{files} file{'s' if files != 1 else ''}; nothing was imported")

    @property
    def more(self) -> str | None:
        """The line that counts the errors not listed, if any."""
        return more_errors(self.total - len(self.errors), self.more_files)

    def lines(self) -> list[str]:
        """What to report: each listed error, then the count of the others."""
        return [str(e) for e in self.errors] + ([self.more] if self.more else [])


@dataclass
class ImportResult:
    rows: dict[str, int] = field(default_factory=dict)
    teams: set[str] = field(default_factory=set)
    weeks: set[int] = field(default_factory=set)
    teams_created: list[str] = field(default_factory=list)
    kpi_team_weeks: int = 0
    # The same files (kinds and contents) as the last import, with no data changed since:
    # nothing was written and no KPI recomputed.
    unchanged: bool = False


def import_files(sessions: sessionmaker[Session], files: Sequence[tuple[pathlib.Path, str | None]],
                 *, max_bytes: int, progress: Progress | None = None,
                 attempts: int = 3) -> ImportResult:
    """``run_import`` in a transaction of its own (``storage.database.bulk_load``), committed.

    An import that creates teams plans their numbers before its final transaction; when a team
    is added meanwhile, nothing was written and the import runs again, so an import never fails
    because the bot wrote."""
    from storage.database import bulk_load

    for attempt in range(1, attempts + 1):
        try:
            with bulk_load(sessions) as session:
                return run_import(session, files, max_bytes=max_bytes, progress=progress)
        except TeamsAdded:
            if attempt == attempts:
                raise
            log.info("a team was added while the import ran; importing again (attempt %d of "
                     "%d)", attempt + 1, attempts)
    raise AssertionError("unreachable")  # pragma: no cover


def run_import(session: Session, files: Sequence[tuple[pathlib.Path, str | None]], *,
               max_bytes: int, progress: Progress | None = None) -> ImportResult:
    """Import ``files`` (path, kind or None to recognise it from the header) into ``session``.

    Raises ImportRefused, listing the first errors and counting the others, when any row is
    refused or a file holds no rows.
    """
    from storage.kpi_refresh import refresh

    errors = ErrorLog()
    tables = []
    for index, (path, kind) in enumerate(files):
        name = str(path)
        try:
            table = open_table(path, max_bytes)
        except UnreadableFile as error:
            errors.add(index, name, [RowError(0, "", str(error))])
            continue
        if kind is None:
            kind = recognise_kind(table.header)
            if kind is None:
                errors.add(index, name, [RowError(1, "", (
                    "cannot tell the kind of file from its header; name it: "
                    f"teampuls import {{{','.join(KINDS)}}} FILE"))])
                table.close()
                continue
        layout, header_errors = resolve_header(kind, table.header)
        errors.add(index, name, header_errors)
        if layout is not None:
            tables.append((index, name, kind, table, layout))
        else:
            table.close()
    fingerprint = _fingerprint([(kind, table.digest) for _, _, kind, table, _ in tables])
    if not errors and _imported_last(session, fingerprint):
        for _, _, _, table, _ in tables:
            table.close()
        return ImportResult(unchanged=True)
    total = sum(t.size for _, _, _, t, _ in tables)

    result = ImportResult()
    writer = Writer(session)
    try:
        done_before = 0
        for index, name, kind, table, layout in tables:
            def report(position: int, before: int = done_before) -> None:
                if progress:
                    progress(before + position, total)

            refused_before = errors.total
            rows = _import_file(index, name, kind, table, layout, writer, result, errors, report)
            if rows == 0 and errors.total == refused_before:
                errors.add(index, name, [RowError(0, "", (
                    "the file holds a header but no rows; nothing was imported (an export "
                    "that lost its rows?)"))])
            done_before += table.size
            result.rows[kind] = result.rows.get(kind, 0) + rows
        writer.wait()
        if errors:
            raise errors.refused()
        writer.finish()
        # The indexes are built while the KPIs are computed from the rows in hand.
        result.kpi_team_weeks = refresh(session, writer.touched,
                                        while_computing=writer.restore_indexes,
                                        ready=writer.ready)
        writer.close()
    except BaseException:
        writer.discard()  # the work in flight must finish before the caller rolls back
        raise
    session.add(ImportRun(fingerprint=fingerprint,
                          kpi_version=session.scalar(select(KpiVersion.version)),
                          rows=sum(result.rows.values())))
    result.teams_created = writer.teams_created
    return result


# The modules whose code decides what an import stores and computes: after an upgrade that
# changes any of them, the same files are checked and computed again, not "Nothing changed".
RULE_MODULES = ("storage.importers.contract", "storage.importers.validation",
                "storage.importers.reading", "storage.importers.loading", "storage.national_ids",
                "storage.folding", "metrics.kpis", "metrics.kpi_compute",
                "metrics.visit_components")


@functools.cache
def rules_digest() -> str:
    """A digest of the source of the modules in ``RULE_MODULES`` (read once a process)."""
    digest = hashlib.sha256()
    for name in RULE_MODULES:
        digest.update(pathlib.Path(importlib.import_module(name).__file__).read_bytes())
    return digest.hexdigest()


def _fingerprint(files: list[tuple[str, str]]) -> str:
    """One digest of the rules' code and the files' kinds and contents, in order (a later file
    replaces rows of an earlier one)."""
    return hashlib.sha256("\n".join([f"rules:{rules_digest()}"] +
                                     [f"{kind}:{digest}" for kind, digest in files])
                          .encode()).hexdigest()


def _imported_last(session: Session, fingerprint: str) -> bool:
    """Whether the last import had these files, and no data changed since: every import and
    every erasure raises the KPI version."""
    shadow = session.info.get("shadow")
    if shadow is not None:
        # On a SQLite file the session's transaction holds the write lock from its first
        # statement, so it begins only at the end (storage.shadow): read outside it.
        last = shadow.read("SELECT fingerprint, kpi_version FROM import_runs "
                           "ORDER BY id DESC LIMIT 1")
        version = shadow.read("SELECT version FROM kpi_version")
        return bool(last) and tuple(last[0]) == (fingerprint, version[0][0] if version else None)
    last = session.execute(select(ImportRun.fingerprint, ImportRun.kpi_version)
                           .order_by(ImportRun.id.desc()).limit(1)).first()
    return last is not None and last.fingerprint == fingerprint and \
        last.kpi_version == session.scalar(select(KpiVersion.version))


def _import_file(index: int, name: str, kind: str, table, layout, writer: Writer,
                 result: ImportResult, errors: ErrorLog, report: Callable[[int], None]) -> int:
    """Check one file chunk by chunk (adding to ``errors``) and hand the good rows to the writer
    as long as nothing has been refused; returns how many rows passed the checks."""
    checker = ChunkChecker(layout, table.decimal_comma)
    duplicates = DuplicateKeys(kind)
    writer.start_file(kind)
    rows = 0
    try:
        for chunk in table.chunks:
            frame, chunk_errors = checker.check(chunk.lines, chunk.columns)
            errors.add(index, name, chunk_errors)
            earlier = duplicates.check(frame)
            if earlier.any():
                repeated = earlier > 0
                lines = frame["line"][repeated].to_numpy()
                if errors.full_after(index, int(lines.min())):
                    errors.count(index, len(lines))
                else:
                    key = " and ".join(_key_names(kind, layout))
                    errors.add(index, name, [
                        RowError(int(line), "", f"repeats the {key} of line {int(first)}")
                        for line, first in zip(lines, earlier[repeated])])
                frame = frame[earlier == 0]
            rows += len(frame)
            if not errors:  # once anything is refused, only checking goes on
                writer.write(kind, frame)
                result.teams.update(frame["team"].unique())
                if "date" in frame:
                    result.weeks.update(weeks_of(frame["date"]).unique().tolist())
            report(table.position())
    except UnreadableFile as error:
        errors.add(index, name, [RowError(0, "", str(error))])
    return rows


def _key_names(kind: str, layout) -> list[str]:
    return [layout.labels.get(c, c) for c in KEYS[kind] or ()]
