"""The README documents every command and every option, and documents nothing that is gone."""

from __future__ import annotations

import re

import click
import pytest

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


# -- a repository that stands on its own --------------------------------------------------------

MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_points_at_a_file_inside_the_repository():
    for page in MARKDOWN:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:|^#", target):
                continue
            resolved = (page.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(ROOT), (page.name, target, "leaves the repository")
            assert resolved.exists(), (page.name, target, "does not exist")


def test_no_file_reads_from_a_folder_beside_the_repository():
    texts = [*MARKDOWN, ROOT / ".ci" / "run", *sorted((ROOT / "tests").glob("*.py")),
             *sorted((ROOT / "benchmarks").glob("*.py"))]
    for path in texts:
        if path.name == "test_docs.py":  # this file names what it looks for
            continue
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/" not in text, path
        assert "ROOT.parent" not in text, path


def test_readme_states_the_python_that_pyproject_requires():
    required = re.search(r'^requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml")
                         .read_text(encoding="utf-8"), flags=re.MULTILINE).group(1)
    assert f"Python {required} or newer" in README


def _readme_commands() -> list[str]:
    block = re.search(r"^```sh\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL).group(1)
    return block.strip().splitlines()


def test_ci_runs_the_readmes_commands_as_written_in_a_copy_of_the_repository():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    starts = [next((i for i, line in enumerate(ci) if line.startswith(command)), None)
              for command in _readme_commands()]
    assert None not in starts and starts == sorted(starts), (_readme_commands(), starts)
    copying = next(i for i, line in enumerate(ci) if line.startswith('cd "$copy"'))
    assert copying < starts[0]


def test_what_the_demo_and_the_console_write_is_left_out_by_gitignore(cli, tmp_path,
                                                                      monkeypatch):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    cli("demo", "--teams", "2", "--weeks", "3")
    cli("demo", "--teams", "2", "--weeks", "3", "--export", "demo-exports")
    chat = cli("--database-url", "sqlite:///teampuls-demo.db", "chat", "-c", "/kpi HAD-C")
    assert (tmp_path / "teampuls-charts").is_dir(), chat.output
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert status.splitlines() == ["?? .gitignore"]
