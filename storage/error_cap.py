"""Bad input is reported error by error, up to a limit: the first ``LIMIT`` errors are listed,
the others only counted, so that a file of millions of bad rows costs neither millions of lines
of output nor the memory to hold them. Used by the imports (``storage.importers.runner``) and
the series files of ``drift scan`` and ``forecast`` (``storage.series_files``)."""

from __future__ import annotations

LIMIT = 100  # errors named one by one; the others are counted


class ErrorCap:
    """The first ``limit`` errors, in the order they came, and the count of all."""

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.listed: list[str] = []
        self.total = 0

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, message: str) -> None:
        self.total += 1
        if len(self.listed) < self.limit:
            self.listed.append(message)

    def count(self, n: int) -> None:
        """``n`` more errors, too late to be listed."""
        self.total += n

    def lines(self, files: int = 1) -> list[str]:
        """The listed errors, then the line that counts the others (if any)."""
        more = more_errors(self.total - len(self.listed), files)
        return self.listed + ([more] if more else [])


def more_errors(rest: int, files: int) -> str | None:
    """The line that counts ``rest`` errors not listed, in ``files`` files (None if none)."""
    return f"… and {rest:,} more errors in {files} file(s)" if rest else None
