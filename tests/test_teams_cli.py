"""Team set-up from the command line, and teams met first in imports."""

from __future__ import annotations

import json

from tests.conftest import SAMPLES


def test_add_edit_and_list_teams(cli):
    cli("team", "add", "OSL-G", "--name", "Oslo Grünerløkka", "--lang", "nb",
        "--timezone", "Europe/Oslo", "--channel", "C0123ABCD", "--coach", "U01COACH1",
        "--rapporter", "U02RAPP01")
    cli("team", "edit", "OSL-G", "--add-rapporter", "U03RAPP02", "--remove-rapporter", "U02RAPP01",
        "--add-channel", "C0456EFGH", "--post-day", "onsdag", "--post-time", "8.30",
        "--add-back-office", "U04BACK01")
    teams = json.loads(cli("team", "list", "--json").output)
    assert teams == [{
        "code": "OSL-G", "name": "Oslo Grünerløkka", "language": "nb", "timezone": "Europe/Oslo",
        "posts": "wed 08:30", "channels": ["C0123ABCD", "C0456EFGH"], "coaches": ["U01COACH1"],
        "rapporters": ["U03RAPP02"], "back_office": ["U04BACK01"], "needs_channel": False,
    }]
    cli("team", "edit", "OSL-G", "--remove-back-office", "U04BACK01")
    assert json.loads(cli("team", "list", "--json").output)[0]["back_office"] == []


def test_clear_errors(cli):
    cli("team", "add", "A1", "--channel", "C0123ABCD")
    cases = [
        (("team", "add", "A1"), "the team A1 exists already"),
        (("team", "add", "B 2"), "'B 2' is not a team code"),
        (("team", "add", "B2", "--channel", "C0123ABCD"), "linked to the team A1 already"),
        (("team", "add", "B2", "--timezone", "Mars/Olympus"), "is not a known time zone"),
        (("team", "edit", "ZZ", "--name", "x"), "no team with the code 'ZZ'; known teams: A1"),
        (("team", "edit", "A1", "--add-coach", "bob"), "'bob' is not a Slack user id"),
        (("kpi", "--team", "A1", "--week", "2026-W54"), "2026 has no week 54"),
        (("team", "edit", "A1", "--post-day", "someday"), "'someday' is not a weekday"),
        (("team", "edit", "A1", "--post-time", "25:00"), "'25:00' is not a time of day"),
    ]
    for args, message in cases:
        result = cli(*args, ok=False)
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    # a refused add leaves nothing behind
    assert [t["code"] for t in json.loads(cli("team", "list", "--json").output)] == ["A1"]


def test_teams_from_imports_need_a_channel(cli):
    result = cli("import", SAMPLES / "canonical" / "staff.csv")
    assert "New teams, still without a Slack channel: VOJ-N, VOJ-S, HAD-C, HAD-V" in result.output
    listing = cli("team", "list").output
    assert listing.count("NEEDS A CHANNEL") == 4


def test_kpi_table_in_each_language(cli):
    cli("import", *(SAMPLES / "danish" / f"{k}.csv" for k in ("staff", "hours", "visits")))
    da = cli("kpi", "--team", "HAD-C", "--week", "2025-W40", "--lang", "da").output
    nb = cli("kpi", "--team", "HAD-C", "--week", "2025-W40", "--lang", "nb").output
    en = cli("kpi", "--team", "HAD-C", "--week", "2025-W40").output
    assert "uge 40 2025" in da and "Sygefravær" in da and "af 4" in da
    assert "uke 40 2025" in nb and "Sykefravær" in nb and "av 4" in nb
    assert "week 40 2025" in en and "Sick leave" in en and "of 4" in en
    assert "," in da.split("Brugertid")[1].split("\n")[0]  # decimal comma
    cli("team", "edit", "HAD-C", "--lang", "nb")
    assert "uke 40" in cli("kpi", "--team", "HAD-C", "--week", "2025-W40").output
    empty = cli("kpi", "--team", "HAD-C", "--week", "2024-W01").output
    assert "Ingen data for denne uken." in empty


def test_default_week_is_the_last_complete_one(cli):
    # the tests' clock stands on Sunday 2026-11-22, in week 47: the last complete week is 46
    cli("team", "add", "A1")
    out = json.loads(cli("kpi", "--team", "A1", "--json").output)
    assert out["week"] == "2026-W46" and out["kpis"]["clients"] is None
