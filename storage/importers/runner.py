"""One import command: read and check every file, write in the caller's transaction, and
recompute the KPI values of exactly the team-weeks it touched.

If any row of any file breaks a rule, ``run_import`` raises ``ImportRefused`` with every error
and the caller rolls back, so nothing is written.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from storage.importers.contract import KINDS, recognise_kind
from storage.importers.loading import KEYS, DuplicateKeys, Writer, weeks_of
from storage.importers.reading import UnreadableFile, open_table
from storage.importers.validation import ChunkChecker, RowError, resolve_header

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True)
class FileError:
    file: str
    error: RowError

    def __str__(self) -> str:
        return self.error.describe(self.file)


class ImportRefused(Exception):
    """Some rows broke the contract; nothing was written."""

    def __init__(self, errors: list[FileError]):
        self.errors = errors
        files = len({e.file for e in errors})
        super().__init__(f"{len(errors)} error{'s' if len(errors) != 1 else ''} in "
                         f"{files} file{'s' if files != 1 else ''}; nothing was imported")


@dataclass
class ImportResult:
    rows: dict[str, int] = field(default_factory=dict)
    teams: set[str] = field(default_factory=set)
    weeks: set[int] = field(default_factory=set)
    teams_created: list[str] = field(default_factory=list)
    kpi_team_weeks: int = 0


def run_import(session: Session, files: Sequence[tuple[pathlib.Path, str | None]], *,
               max_bytes: int, progress: Progress | None = None) -> ImportResult:
    """Import ``files`` (path, kind or None to recognise it from the header) into ``session``.

    Raises ImportRefused, listing every error, when any row is refused.
    """
    from storage.kpi_refresh import refresh

    errors: list[FileError] = []
    tables = []
    for path, kind in files:
        name = str(path)
        try:
            table = open_table(path, max_bytes)
        except UnreadableFile as error:
            errors.append(FileError(name, RowError(0, "", str(error))))
            continue
        if kind is None:
            kind = recognise_kind(table.header)
            if kind is None:
                errors.append(FileError(name, RowError(1, "", (
                    "cannot tell the kind of file from its header; name it: "
                    f"teampuls import {{{','.join(KINDS)}}} FILE"))))
                continue
        layout, header_errors = resolve_header(kind, table.header)
        errors.extend(FileError(name, e) for e in header_errors)
        if layout is not None:
            tables.append((name, kind, table, layout))
    total = sum(t.size for _, _, t, _ in tables)

    result = ImportResult()
    writer = Writer(session)
    try:
        done_before = 0
        for name, kind, table, layout in tables:
            def report(position: int, before: int = done_before) -> None:
                if progress:
                    progress(before + position, total)

            rows = _import_file(name, kind, table, layout, writer, result, errors, report)
            done_before += table.size
            result.rows[kind] = result.rows.get(kind, 0) + rows
        writer.wait()
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: (e.file, e.error)))
        writer.finish()
        # The indexes are built while the KPIs are computed from the rows in hand.
        result.kpi_team_weeks = refresh(session, writer.touched,
                                        while_computing=writer.restore_indexes,
                                        ready=writer.ready)
        writer.close()
    except BaseException:
        writer.discard()  # the work in flight must finish before the caller rolls back
        raise
    result.teams_created = writer.teams_created
    return result


def _import_file(name: str, kind: str, table, layout, writer: Writer, result: ImportResult,
                 errors: list[FileError], report: Callable[[int], None]) -> int:
    """Check one file chunk by chunk (adding to ``errors``) and hand the good rows to the writer
    as long as nothing has been refused; returns how many rows passed the checks."""
    checker = ChunkChecker(layout, table.decimal_comma)
    duplicates = DuplicateKeys(kind)
    writer.start_file(kind)
    rows = 0
    try:
        for chunk in table.chunks:
            frame, chunk_errors = checker.check(chunk.lines, chunk.columns)
            errors.extend(FileError(name, e) for e in chunk_errors)
            earlier = duplicates.check(frame)
            if earlier.any():
                key = " and ".join(_key_names(kind, layout))
                for line, first in zip(frame["line"][earlier > 0], earlier[earlier > 0]):
                    errors.append(FileError(name, RowError(
                        int(line), "", f"repeats the {key} of line {int(first)}")))
                frame = frame[earlier == 0]
            rows += len(frame)
            if not errors:  # once anything is refused, only checking goes on
                writer.write(kind, frame)
                result.teams.update(frame["team"].unique())
                if "date" in frame:
                    result.weeks.update(weeks_of(frame["date"]).unique().tolist())
            report(table.position())
    except UnreadableFile as error:
        errors.append(FileError(name, RowError(0, "", str(error))))
    return rows


def _key_names(kind: str, layout) -> list[str]:
    return [layout.labels.get(c, c) for c in KEYS[kind] or ()]
