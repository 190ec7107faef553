"""The local console: the same command handlers as in Slack, typed in a terminal.

Replies are printed as plain text and charts are saved as PNG files, so people can try every
command without a Slack workspace.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable, Iterable

from bot.edge import Edge
from commands.context import Request
from commands.dispatch import answer
from commands.reply import Reply

PROMPT = "teampuls> "


def run_line(edge: Edge, line: str, *, user: str, channel: str, locale: str | None) -> Reply | None:
    """Answer one typed line (``/kpi sick``); None for an empty line."""
    line = line.strip()
    if not line:
        return None
    command, _, text = line.partition(" ")
    if not command.startswith("/"):
        command = "/" + command
    request = Request(command, text.strip(), user, channel, locale)
    with edge.sessions.begin() as session:
        return answer(request, session, now=edge.now, default_language=edge.settings.language,
                      admins=edge.settings.admins)


def save_chart(reply: Reply, folder: pathlib.Path) -> pathlib.Path | None:
    if reply.chart is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / re.sub(r"[^A-Za-z0-9._-]", "_", reply.chart.filename)
    path.write_bytes(reply.chart.png)
    return path


def chat(edge: Edge, lines: Iterable[str], out: Callable[[str], None], *, user: str,
         channel: str, locale: str | None, charts: pathlib.Path) -> None:
    for line in lines:
        if line.strip() in ("exit", "quit", "/exit", "/quit"):
            break
        reply = run_line(edge, line, user=user, channel=channel, locale=locale)
        if reply is None:
            continue
        out(reply.as_text())
        saved = save_chart(reply, charts)
        if saved is not None:
            out(f"[{reply.chart.title}: {saved}]")
        if reply.sync_channels:
            out("(" + ", ".join(reply.sync_channels) + ": members are read from Slack when "
                "the bot runs)")
        out("")



