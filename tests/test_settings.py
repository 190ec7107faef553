"""Settings come from the environment; .env.example documents exactly the same variables."""

from __future__ import annotations

import re

import pytest

from bot.settings import VARIABLES, Settings, SettingsError
from tests.conftest import ROOT


def test_env_example_lists_every_setting_with_its_default_and_nothing_else():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assigned = dict(re.findall(r"^([A-Z_]+)=(.*)$", text, flags=re.MULTILINE))
    assert set(assigned) == {v.name for v in VARIABLES}
    for variable in VARIABLES:
        assert assigned[variable.name] == variable.default, variable.name
        # each variable is explained by a comment just above it
        assert re.search(rf"^# .+\n{variable.name}=", text, flags=re.MULTILINE), variable.name


def test_defaults():
    settings = Settings.from_environ({})
    assert settings.database_url == "sqlite:///teampuls.db"
    assert settings.language == "da" and settings.timezone == "Europe/Copenhagen"
    assert settings.admins == frozenset() and settings.import_max_bytes == 1024 * 1024**2


def test_values_are_parsed():
    settings = Settings.from_environ({"TEAMPULS_ADMINS": "U01ABC, U02DEF,,", "TEAMPULS_LANGUAGE": "NB",
                                      "SLACK_API_BASE_URL": "http://127.0.0.1:9999/api/"})
    assert settings.admins == {"U01ABC", "U02DEF"} and settings.language == "nb"


@pytest.mark.parametrize("name, value", [
    ("TEAMPULS_LANGUAGE", "sv"), ("TEAMPULS_TIMEZONE", "Europe/Atlantis"),
    ("SLACK_API_BASE_URL", "http://127.0.0.1:9999/api"), ("TEAMPULS_IMPORT_MAX_MB", "lots"),
    ("TEAMPULS_LOG_LEVEL", "LOUD"), ("DATABASE_URL", "teampuls.db"),
    ("TEAMPULS_POST_GRACE_DAYS", "30"), ("TEAMPULS_POST_GRACE_DAYS", "soon"),
    ("TEAMPULS_POST_LEASE_SECONDS", "0"),
])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_environ({name: value})


def test_cli_reports_bad_settings_in_one_line(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from bot.cli import teampuls

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEAMPULS_LANGUAGE", "sv")
    result = CliRunner().invoke(teampuls, ["team", "list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: TEAMPULS_LANGUAGE must be one of da, nb, en, not 'sv'"
