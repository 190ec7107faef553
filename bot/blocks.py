"""Replies as Slack messages (Block Kit)."""

from __future__ import annotations

from commands.reply import Reply

MAX_FIELDS = 10  # Slack's limit per section
MAX_TEXT = 3000  # Slack's limit of a section's text


def message_blocks(reply: Reply, file_id: str | None = None) -> list[dict]:
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn",
                                                       "text": reply.text[:MAX_TEXT]}}]
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]}
              for label, value in reply.fields]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start:start + MAX_FIELDS]})
    if reply.chart is not None and file_id is not None:
        blocks.append({"type": "image", "slack_file": {"id": file_id},
                       "alt_text": reply.chart.title,
                       "title": {"type": "plain_text", "text": reply.chart.title[:2000]}})
    return blocks


def plain_text(reply: Reply) -> str:
    """The notification text, and what clients without blocks show."""
    return reply.as_text()[:MAX_TEXT]
