"""What a command answers: a value that the Slack gateway and the console each know how to show.

Handlers build replies and never send them; only ``bot/`` talks to Slack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    png: bytes
    filename: str  # e.g. "teampuls-HAD-C-sick_leave-2026-W46.png"
    title: str  # shown above the image, and its alternative text


@dataclass(frozen=True)
class Button:
    label: str
    action: str  # what pressing it does, e.g. "followup_done"
    value: str  # e.g. the follow-up's id
    style: str | None = None  # "primary" or "danger"


@dataclass(frozen=True)
class Item:
    """One entry of a list with its buttons (a follow-up with done and snooze)."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text, long_text, user, date
    hint: str = ""
    initial: str | None = None  # a user id for user, an ISO date for date
    optional: bool = False


@dataclass(frozen=True)
class Form:
    """A form to fill in (a Slack modal): its answers come back to ``commands.forms``."""

    kind: str  # goal, followup
    title: str
    submit: str
    fields: tuple[FormField, ...]
    state: str  # what the answers belong to, e.g. "team=3;goal=12;channel=C123"
    intro: str = ""


@dataclass(frozen=True)
class Reply:
    text: str  # the answer in Slack's mrkdwn (*bold*, line breaks); also the notification text
    fields: tuple[tuple[str, str], ...] = ()  # (label, value) pairs of a card
    chart: Chart | None = None
    share: bool = False  # post in the conversation for everyone, not just the user
    error: bool = False  # the request could not be answered; the text says why
    # Linked Slack channels whose members the bot should read again (after an admin change).
    sync_channels: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()  # a list with buttons, after the text
    form: Form | None = None  # a form to open instead of a message
    # Notes for a channel, beside the reply (a coach's "discuss with the team"): (channel, text).
    channel_notes: tuple[tuple[str, str], ...] = ()

    def as_text(self) -> str:
        """The reply as plain text, for the console and for logs."""
        lines = [self.text.replace("*", "")]
        if self.fields:
            width = max(len(label) for label, _ in self.fields)
            lines.append("")
            for label, value in self.fields:
                first, *more = value.split("\n")
                lines.append(f"  {label.ljust(width)}  {first}")
                lines.extend(f"  {'':{width}}  {line}" for line in more)
        for item in self.items:
            lines.append("• " + item.text.replace("*", ""))
        if self.form is not None:
            lines.append(self.form.title + ("\n" + self.form.intro if self.form.intro else ""))
            for field in self.form.fields:
                lines.append(f"  {field.label}" + (f": {field.initial}" if field.initial else ""))
        return "\n".join(lines)


class UsageError(Exception):
    """The user asked for something that cannot be answered; the message, an English text
    from the catalogs with ``{placeholders}``, is translated where the reply is made."""

    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, tr) -> str:
        return tr(self.message).format(**self.params)
