"""Replies as Slack messages (Block Kit)."""

from __future__ import annotations

from commands.reply import Form, Item, Reply

MAX_FIELDS = 10  # Slack's limit per section
MAX_TEXT = 3000  # Slack's limit of a section's text


def message_blocks(reply: Reply, file_id: str | None = None) -> list[dict]:
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn",
                                                       "text": reply.text[:MAX_TEXT]}}]
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]}
              for label, value in reply.fields]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start:start + MAX_FIELDS]})
    for item in reply.items:
        blocks += item_blocks(item)
    if reply.chart is not None and file_id is not None:
        blocks.append({"type": "image", "slack_file": {"id": file_id},
                       "alt_text": reply.chart.title,
                       "title": {"type": "plain_text", "text": reply.chart.title[:2000]}})
    return blocks


def plain_text(reply: Reply) -> str:
    """The notification text, and what clients without blocks show."""
    return reply.as_text()[:MAX_TEXT]


FORM_CALLBACK = "teampuls_form"  # a form's view: callback_id, with its kind in private_metadata


def item_blocks(item: Item) -> list[dict]:
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn",
                                                       "text": item.text[:MAX_TEXT]}}]
    if item.buttons:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": b.action, "value": b.value,
             "text": {"type": "plain_text", "text": b.label[:75]}}
            | ({"style": b.style} if b.style else {}) for b in item.buttons]})
    return blocks


def form_view(form: Form) -> dict:
    """A modal view of a form; its answers come back as a view_submission."""
    blocks: list[dict] = []
    if form.intro:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                         "text": form.intro[:MAX_TEXT]}]})
    for field in form.fields:
        if field.kind in ("text", "long_text"):
            element = {"type": "plain_text_input", "multiline": field.kind == "long_text",
                       "max_length": 2000}
            if field.initial:
                element["initial_value"] = field.initial
        elif field.kind == "user":
            element = {"type": "users_select"}
            if field.initial:
                element["initial_user"] = field.initial
        else:
            element = {"type": "datepicker"}
            if field.initial:
                element["initial_date"] = field.initial
        element["action_id"] = field.name
        block = {"type": "input", "block_id": field.name, "optional": field.optional,
                 "label": {"type": "plain_text", "text": field.label[:2000]}, "element": element}
        if field.hint:
            block["hint"] = {"type": "plain_text", "text": field.hint[:2000]}
        blocks.append(block)
    return {"type": "modal", "callback_id": FORM_CALLBACK,
            "private_metadata": f"kind={form.kind};{form.state}",
            "title": {"type": "plain_text", "text": form.title[:24]},
            "submit": {"type": "plain_text", "text": form.submit[:24]},
            "blocks": blocks}


def form_values(view: dict) -> dict[str, str | None]:
    """The answers of a submitted form view, by field name."""
    values: dict[str, str | None] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for action in actions.values():
            values[block_id] = (action.get("value") or action.get("selected_user")
                                or action.get("selected_date"))
    return values


def home_view(reply: Reply) -> dict:
    """The App Home tab."""
    return {"type": "home", "blocks": message_blocks(reply)[:100]}
