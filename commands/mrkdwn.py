"""Text typed by users, made safe to show in Slack's mrkdwn: ``&``, ``<`` and ``>`` escaped as
Slack asks, so that ``<!channel>``, ``<@U123>`` and links in goal text are shown, not acted on."""

from __future__ import annotations


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
