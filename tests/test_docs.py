"""The README documents every command and every option, and documents nothing that is gone."""

from __future__ import annotations

import re

import click

from bot.cli import teampuls
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "teampuls"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


def _section(path: str) -> str:
    match = re.search(rf"^### `{re.escape(path)}`\n(.*?)(?=^## |^### |\Z)", README,
                      flags=re.MULTILINE | re.DOTALL)
    assert match, f"README has no section '### `{path}`'"
    return match.group(1)


def test_every_command_and_option_is_documented():
    for path, command in _commands(teampuls):
        section = _section(path)
        for parameter in command.params:
            if isinstance(parameter, click.Option) and parameter.name != "help":
                assert any(opt in section for opt in parameter.opts), (path, parameter.opts)


def test_readme_documents_no_command_that_does_not_exist():
    documented = set(re.findall(r"^### `(teampuls [a-z -]+)`", README, flags=re.MULTILINE))
    assert documented == {path for path, _ in _commands(teampuls)}


def test_global_options_are_documented():
    for parameter in teampuls.params:
        if isinstance(parameter, click.Option) and parameter.name not in ("help", "version"):
            assert parameter.opts[0] in README
