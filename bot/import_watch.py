"""The import folder's watcher (``teampuls import DIR`` and ``teampuls import --watch DIR``):
each poll imports the set of exports in the folder once it has settled
(``storage.importers.watch``), and tells the admins (``TEAMPULS_ADMINS``) in Slack when a set is
refused or when no set has arrived for longer than expected — once per silence. Without Slack
settings it logs, and the one-shot run's exit code says whether a set was refused.

The admins' notice names the folder, the files' count and where the errors are, never the
errors themselves: a refused row's text may quote what the export holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.edge import Edge
from commands.i18n import Translator
from commands.reply import Reply
from storage.importers import watch

log = logging.getLogger(__name__)


@dataclass
class Poll:
    """What one poll did."""

    outcome: watch.Outcome | None = None  # the set imported or refused, if one was ready
    waiting: list[str] = field(default_factory=list)  # files not yet settled (the set waits)
    silence: bool = False  # the admins were told (or it was logged) of a long silence


class Watcher:
    def __init__(self, edge: Edge, folder: pathlib.Path, *, settle: float,
                 expect_every: dt.timedelta | None = None, gateway=None):
        self.edge = edge
        self.folder = folder
        self.settle = settle
        self.expect_every = expect_every
        self.gateway = gateway  # None: no Slack; notices are logged only
        # Each file's (size, modification time) at the poll before; None before the first
        # poll, when the modification times alone decide.
        self._before: dict[pathlib.Path, tuple[int, int]] | None = None

    def poll(self) -> Poll:
        now = self.edge.current()
        state = watch.load_state(self.folder, now)
        if not (self.folder / watch.STATE_FILE).exists():
            watch.save_state(self.folder, state)  # the silence is counted from the first run
        entries = watch.scan(self.folder)
        done = Poll()
        if entries and watch.settled(entries, now, self.settle, self._before):
            done.outcome = watch.import_set(self.folder, entries, self.edge.sessions,
                                            max_bytes=self.edge.settings.import_max_bytes,
                                            now=now)
            self._before = {}
            state = watch.State(since=now)
            watch.save_state(self.folder, state)
            self._report(done.outcome)
        else:
            done.waiting = [e.path.name for e in entries
                            if not watch.settled([e], now, self.settle, self._before)]
            self._before = {e.path: e.stamp for e in entries}
        if self.expect_every is not None and watch.silence_to_tell(state, now,
                                                                   self.expect_every):
            self._tell_silence(state.since, now)
            state.told = state.since
            watch.save_state(self.folder, state)
            done.silence = True
        return done

    def run(self, polls: int | None, every: float, sleep: Callable[[float], object]) -> int:
        """Poll ``polls`` times (for ever when None), ``every`` seconds apart; how many sets
        were refused. A poll that fails for another reason (the database is down) is logged
        and tried again at the next poll, the files left in place."""
        refused = 0
        n = 0
        while polls is None or n < polls:
            if n:
                sleep(every)
            n += 1
            try:
                outcome = self.poll().outcome
            except Exception:
                log.exception("the import folder's poll failed; the files stay for the next")
                continue
            refused += bool(outcome and outcome.failed)
        return refused

    # -- telling ----------------------------------------------------------------------------

    def _report(self, outcome: watch.Outcome) -> None:
        where = outcome.moved_to.relative_to(self.folder)
        if outcome.failed:
            log.error("an export set of %d file(s) was refused (%d errors); nothing was "
                      "imported; moved to %s", len(outcome.files), outcome.refused.total, where)
            self._tell_admins(self._refused_text(outcome), "the notice of a refused import")
        elif outcome.result.unchanged:
            log.info("an export set of %d file(s) held nothing new; moved to %s",
                     len(outcome.files), where)
        else:
            log.info("imported an export set of %d file(s), %d rows; moved to %s",
                     len(outcome.files), sum(outcome.result.rows.values()), where)
        if outcome.unmoved:
            log.error("%d file(s) of the set could not be moved and stay in the folder",
                      len(outcome.unmoved))

    def _refused_text(self, outcome: watch.Outcome) -> str:
        tr = self._tr()
        return tr("The exports that arrived in {folder} were refused: {count} errors in "
                  "{files} files, nothing was imported. The files and errors.txt are in "
                  "{moved_to}. Correct the exports and put them in the folder again.").format(
                      folder=self.folder, count=tr.decimal(outcome.refused.total, 0),
                      files=len(outcome.files), moved_to=outcome.moved_to)

    def _tell_silence(self, since: dt.datetime, now: dt.datetime) -> None:
        tr = self._tr()
        days = (now - since) / dt.timedelta(days=1)
        log.warning("no export has arrived in the import folder for %.1f days", days)
        self._tell_admins(tr("No exports have arrived in {folder} for {days} days (since "
                             "{since}); they are expected at least every {expected}. Check "
                             "the export jobs of the municipal systems.").format(
                                 folder=self.folder, days=tr.decimal(days, 1),
                                 since=since.strftime("%Y-%m-%d %H:%M"),
                                 expected=_span(self.expect_every)),
                          "the notice that no export has arrived")

    def _tell_admins(self, text: str, what: str) -> None:
        if self.gateway is None:
            return
        admins = sorted(self.edge.settings.admins)
        if not admins:
            log.warning("%s went to no one: TEAMPULS_ADMINS is empty", what)
        for admin in admins:
            self.gateway.tell(admin, Reply(text), what)

    def _tr(self) -> Translator:
        return Translator(self.edge.settings.language)


def _span(span: dt.timedelta | None) -> str:
    """A time span as the option takes it: ``7d``, ``36h``, ``90m``, ``45s``."""
    seconds = int(span.total_seconds()) if span else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def gateway_for(edge: Edge):
    """A Gateway to tell the admins, or None without a bot token."""
    if not edge.settings.slack_bot_token:
        return None
    from bot.gateway import Gateway, web_client

    return Gateway(web_client(edge.settings.slack_bot_token, edge.settings.slack_api_base_url))
