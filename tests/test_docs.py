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


# -- the going-live guide -------------------------------------------------------------------------

GUIDE = (ROOT / "docs" / "going-live.md").read_text(encoding="utf-8")
GLOBAL_OPTIONS = {"--database-url", "--env-file"}
# options whose value may be the word "teampuls" (a user, group, container or image name)
_TAKES_A_NAME = {"-u", "-g", "-t", "--name", "--user", "--group"}


def _guide_snippets() -> list[str]:
    """The shell lines of the guide's code blocks (continuations joined) and its inline code."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", GUIDE, flags=re.MULTILINE | re.DOTALL)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", GUIDE, flags=re.MULTILINE | re.DOTALL)
    return lines + re.findall(r"`([^`\n]+)`", prose)


def _guide_commands() -> list[tuple[list[str], list[str]]]:
    """Each ``teampuls …`` invocation in the guide: (global options, the rest)."""
    import shlex

    found = []
    for snippet in _guide_snippets():
        if snippet.lstrip().startswith("/"):
            continue  # a slash command
        try:
            tokens = shlex.split(snippet, comments=True)
        except ValueError:
            continue  # not shell
        for i, token in enumerate(tokens):
            if token != "teampuls" and not token.endswith("/bin/teampuls"):
                continue
            if i and tokens[i - 1] in _TAKES_A_NAME:
                continue
            rest = tokens[i + 1:]
            options = []
            while rest[:1] and rest[0] in GLOBAL_OPTIONS:
                options, rest = options + rest[:2], rest[2:]
            if not rest or rest[0] == "teampuls":  # a bare name, or a container named so
                continue
            cut = next((j for j, t in enumerate(rest) if t in ("&&", "||", "|", ";")), None)
            found.append((options, rest[:cut]))
    return found


def _resolve(words: list[str]):
    """The click command a guide line names, its path, and the words after it."""
    command, path = teampuls, []
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        assert words[0] in command.commands, f"'{' '.join(path + words[:1])}' is no command"
        command, path, words = command.commands[words[0]], path + words[:1], words[1:]
    return command, path, words


def test_the_guide_names_the_commands_it_needs():
    named = {" ".join(_resolve(rest)[1]) for _, rest in _guide_commands()}
    assert {"import", "team add", "team edit", "team list", "kpi", "post-weekly", "db upgrade",
            "db backup", "db restore", "db downgrade", "run"} <= named


def test_every_teampuls_command_in_the_guide_exists_with_its_options():
    from click.testing import CliRunner

    for options, rest in _guide_commands():
        for option in options[::2]:
            assert option in {o for p in teampuls.params for o in p.opts}, option
        command, path, words = _resolve(rest)
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for word in words:
            if word.startswith("-"):
                assert word.split("=")[0] in known, (path, word)
        result = CliRunner().invoke(teampuls, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (path, result.output)


def test_the_guides_slack_admin_commands_work_in_order(database_url):
    from bot.console import run_line
    from bot.edge import Edge
    from bot.settings import Settings
    from tests.conftest import NOW

    # every example (a bare "/teampuls admin schedule" in the text names the command only)
    lines = [line.strip() for line in _guide_snippets()
             if line.strip().startswith("/teampuls admin") and len(line.split()) > 3]
    assert len(lines) >= 6
    settings = Settings.from_environ({"DATABASE_URL": database_url, "TEAMPULS_ADMINS": "U0ADMIN01",
                                      "TEAMPULS_LANGUAGE": "en"})
    edge = Edge(settings, NOW)
    try:
        for line in lines:
            # Slack escapes mentions in the text it sends (should_escape in manifest.yml)
            line = re.sub(r"([@#])([\w-]+)", lambda m: f"<{m[1]}{'U' if m[1] == '@' else 'C'}0"
                          f"{(m[2].upper().replace('-', '') + '0' * 8)[:8]}|{m[2]}>", line)
            reply = run_line(edge, line, user="U0ADMIN01", channel="C0TEAMCHAN", locale="en")
            assert not reply.error, (line, reply.as_text())
    finally:
        edge.engine.dispose()


def test_the_guides_downgrade_command_steps_the_schema_down(tmp_path):
    import subprocess
    import sys

    from sqlalchemy import create_engine, text

    command = next(rest for _, rest in _guide_commands() if rest[:2] == ["db", "downgrade"])
    database = tmp_path / "teampuls.db"
    url = f"sqlite:///{database}"
    subprocess.run([sys.executable, "-m", "bot", "--database-url", url, "db", "upgrade"],
                   check=True, cwd=ROOT, capture_output=True)
    subprocess.run([sys.executable, "-m", "bot", "--database-url", url, *command],
                   input="y\n", text=True, check=True, cwd=ROOT, capture_output=True)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            == command[2]
    engine.dispose()


def test_the_container_and_the_systemd_unit_start_teampuls_run_with_real_options():
    import json
    import shlex

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)[1])
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[1])
    unit = (ROOT / "deploy" / "teampuls.service").read_text(encoding="utf-8")
    exec_start = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)[1])
    assert exec_start[0] == "/opt/teampuls/bin/teampuls" and entrypoint[-1] == "teampuls"
    for words in (cmd, exec_start[1:]):
        command, path, rest = _resolve(words)
        assert path == ["run"], words
        known = {o for p in command.params for o in p.opts}
        assert all(w in known for w in rest if w.startswith("-")), words
    # The unit leaves the address to TEAMPULS_HTTP_HOST in its env file, as the guide says.
    assert "--host" not in exec_start
    guide = (ROOT / "docs" / "going-live.md").read_text(encoding="utf-8")
    assert "`TEAMPULS_HTTP_HOST` in `/etc/teampuls/teampuls.env`" in guide
    port = cmd[cmd.index("--port") + 1]
    assert f"EXPOSE {port}" in dockerfile and f"127.0.0.1:{port}/healthz" in dockerfile
    assert "/healthz" in (ROOT / "bot" / "server.py").read_text(encoding="utf-8")
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert f":{port}:{port}" in compose and "build: ." in compose


def test_the_guide_states_that_replay_protection_is_per_replica():
    """bot.server.SeenRequests is one process's memory: the replicas section says so."""
    guide = (ROOT / "docs" / "going-live.md").read_text(encoding="utf-8")
    section = guide[guide.index("## 8. Several replicas"):]
    assert "**Replay protection is per replica.**" in section
    assert "One\n    process's memory" in (ROOT / "bot" / "server.py").read_text(encoding="utf-8")
