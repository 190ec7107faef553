"""The storage layer's errors that reach users; each message says what is wrong.

They live apart from the modules that raise them so that the quick read path of the command line
(``storage.quick_read``) can raise and the edge can catch them without importing SQLAlchemy.
"""


class DatabaseError(RuntimeError):
    """The database cannot be reached or brought up to date; the message says why."""


class TeamError(ValueError):
    """A team command that cannot be carried out; the message says why. ``message`` and
    ``params``, when given, are the English text with ``{placeholders}`` for the catalogs, so
    that the chat can say it in the user's language (``str()`` is the English for the CLI)."""

    def __init__(self, text: str, message: str | None = None, **params: object):
        super().__init__(text)
        self.message = message
        self.params = params


class SeriesFileError(ValueError):
    """A series file (``drift scan``, ``forecast``) that cannot be read; the message names the
    file and every bad line and column."""


class CitizenRefError(ValueError):
    """A citizen reference that ``citizen export`` or ``citizen erase`` cannot act on (blank, or
    for erasure not stored anywhere); the message says why."""
