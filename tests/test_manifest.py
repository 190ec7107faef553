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
