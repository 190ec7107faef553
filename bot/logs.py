"""What the log may carry: ids, command names and error classes, never text a user typed.

Exception messages can hold anything (a SQL statement's parameters, a goal's text, a citizen
reference), and libraries log whole request bodies (slack-bolt at DEBUG and INFO, slack-sdk
the arguments of every Web API call at DEBUG). ``install`` puts a log record factory in front
of every logger of the process, so that whoever logs:

- an exception is logged with its traceback's frames (file, line, function, source line) and
  the class of each exception in its chain, never its message;
- an exception passed as an argument (``log.error("... %r", error)``) becomes its class name;
- a record of a library outside ``TRUSTED`` keeps its message up to the first bracket, colon,
  quote or line break (``Failed to run listener function (error: ...)`` keeps
  ``Failed to run listener function``): what happened, not what it was about.

Our own log calls keep their messages: they pass ids, counts and names only.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import traceback
from collections.abc import Iterator

OURS = ("bot", "commands", "storage", "metrics", "charts", "teampuls", "benchmarks")
# Libraries whose messages carry no request content: waitress logs connections and queue
# depths; SQLAlchemy logs statements with bound parameters (hidden: hide_parameters=True).
TRUSTED = ("waitress", "sqlalchemy", "alembic", "py.warnings", "asyncio", "concurrent")
_CUT = re.compile(r"[(\[{:\"'\n=<]")
MAX_LIBRARY_MESSAGE = 120

_installed = False
_install_lock = threading.Lock()


def incident() -> str:
    """A new incident number: what a user quotes and the log line names."""
    return secrets.token_hex(4)


_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def _chain(error: BaseException) -> Iterator[tuple[BaseException, str]]:
    """An exception and the ones it was raised from or during, newest first, each with the
    line Python prints above the next newer one ("" for the first); a cycle ends it."""
    seen: set[int] = set()
    current: BaseException | None = error
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current, link
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None


def error_classes(error: BaseException) -> str:
    """``OperationalError < sqlite3.OperationalError``: the classes of an exception's chain."""
    return " < ".join(_class_name(type(current)) for current, _link in _chain(error))


def _class_name(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__main__") else \
        f"{module}.{kind.__qualname__}"


def withheld_traceback(error: BaseException) -> str:
    """A traceback as Python prints it, with each exception's message left out."""
    parts: list[str] = []
    chain = list(_chain(error))
    for exception, link in reversed(chain):
        frames = traceback.StackSummary.extract(traceback.walk_tb(exception.__traceback__),
                                                capture_locals=False)
        if frames:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(frames.format())
        parts.append(f"{_class_name(type(exception))} (message withheld)\n")
        if link:
            parts.append(f"\n{link}\n\n")
    return "".join(parts).rstrip("\n")


def _ours(name: str) -> bool:
    return name.split(".", 1)[0] in OURS


def _trusted(name: str) -> bool:
    return name.split(".", 1)[0] in TRUSTED


def make_safe(record: logging.LogRecord) -> logging.LogRecord:
    """The record as the log may carry it (see the module's docstring)."""
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = withheld_traceback(record.exc_info[1])
        record.exc_classes = error_classes(record.exc_info[1])
        record.exc_info = None
    elif record.exc_info:
        record.exc_info = None
    if isinstance(record.args, tuple) and any(isinstance(a, BaseException) for a in record.args):
        record.args = tuple(error_classes(a) if isinstance(a, BaseException) else a
                            for a in record.args)
    if not (_ours(record.name) or _trusted(record.name)):
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed call: keep its template only
            message = str(record.msg)
        cut = _CUT.search(message)
        if cut is not None or len(message) > MAX_LIBRARY_MESSAGE:
            end = min(cut.start() if cut else len(message), MAX_LIBRARY_MESSAGE)
            message = message[:end].rstrip(" -,") + " [...]"
        record.msg, record.args = message, ()
    return record


def install() -> None:
    """Make every log record of this process safe as it is made (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            return make_safe(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601 with milliseconds), ``level``,
    ``logger``, ``message``, and for an exception ``exception`` (the classes of its chain) and
    ``traceback`` (frames and classes, messages withheld). The record is made safe here too,
    so that a handler of this formatter never writes an exception's message, even where
    ``install`` was not called."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime as dt
        import json

        if record.exc_info:
            make_safe(record)
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "exc_classes", None):
            entry["exception"] = record.exc_classes
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, log_format: str = "text") -> None:
    """The process's log: safe records (``install``) on stderr, as text lines or JSON lines
    (``TEAMPULS_LOG_FORMAT``)."""
    install()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
