"""manifest.yml is a valid Slack app manifest, and the commands in code, manifest and README
are the same."""

from __future__ import annotations

import json
import re

import jsonschema
import yaml

from commands.dispatch import COMMANDS
from tests.conftest import DOCS, ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def test_manifest_follows_slacks_schema():
    schema = json.loads((DOCS / "slack" / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(MANIFEST, schema)


def test_commands_in_code_manifest_and_readme_agree():
    in_manifest = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_readme = set(re.findall(r"^### `(/[a-z]+)`", readme, re.MULTILINE))
    assert set(COMMANDS) == in_manifest == in_readme


def test_scopes_are_the_least_the_bot_needs():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert scopes == {"commands", "chat:write", "files:write", "users:read", "channels:read",
                      "groups:read", "channels:history", "groups:history", "im:write",
                      "im:history"}
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"member_joined_channel", "member_left_channel", "app_home_opened"}


def test_the_going_live_guides_http_mode_manifest_follows_slacks_schema():
    """docs/going-live.md says how to turn the manifest to HTTP mode; the result must be a
    manifest Slack accepts (the schema refuses unknown keys), calling the bot's events path."""
    import copy

    from bot.server import EVENTS_PATH

    guide = " ".join((DOCS / "going-live.md").read_text(encoding="utf-8").split())
    url = f"https://YOUR-HOST{EVENTS_PATH}"
    for said in ("set `socket_mode_enabled: false`",
                 f"add `request_url: {url}` under `settings.event_subscriptions` and under "
                 "`settings.interactivity`",
                 f"and `url: {url}` to each slash command"):
        assert said in guide, said
    http = copy.deepcopy(MANIFEST)
    http["settings"]["socket_mode_enabled"] = False
    http["settings"]["event_subscriptions"]["request_url"] = url
    http["settings"]["interactivity"]["request_url"] = url
    for command in http["features"]["slash_commands"]:
        command["url"] = url
    schema = json.loads((DOCS / "slack" / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(http, schema)
