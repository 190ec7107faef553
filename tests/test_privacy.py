"""Personal data (contract section 4, issue 17): values that look like a CPR number or
fødselsnummer, in any of the shapes people paste, are refused in every field of every import and
in every text a user types, never echoed; near misses are accepted. ``citizen export`` and
``citizen erase`` find a citizen under look-alike references and inside other records' free
text."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from sqlalchemy import inspect, select, text

from commands.context import Request
from commands.dispatch import answer, interaction_context
from commands.forms import FormErrors, submit
from storage import goals
from storage.models import FollowUp, Goal, GoalChange, Norm, Team, Visit
from storage.national_ids import find_national_id
from tests.test_goals import CHANNEL_A, MEMBER, MEMBER2, NOW, _goal, teams  # noqa: F401

# The same CPR number (1 January 1990, serial 4785) as people paste it, and a fødselsnummer.
VARIANTS = {
    "plain": "0101904785",
    "dash": "010190-4785",
    "space": "010190 4785",
    "no-break space": "010190\u00a04785",
    "en dash": "010190\u20134785",
    "em dash": "010190\u20144785",
    "non-breaking hyphen": "010190\u20114785",
    "minus sign": "010190\u22124785",
    "spaced pairs": "01 01 90 4785",
    "dotted date": "01.01.90-4785",
    "slash": "010190/4785",
    "zero-width space": "0101\u200b904785",
    "zero-width joiners": "01\u200c01\u200d90-4785",
    "word joiner and BOM": "\u2060010190-4785\ufeff",
    "soft hyphen": "010190\u00ad4785",
    "fullwidth digits": "\uff10\uff11\uff10\uff11\uff19\uff10\uff14\uff17\uff18\uff15",
    "fødselsnummer": "01019047851",
    "D-number": "410190 47851",
}
# Split across lines, as typed in a multi-line field (not in the tab-separated import test).
LINE_BREAKS = {
    "line feed": "010190\n4785",
    "carriage return and line feed": "01.01.90 \r\n4785",
    "line separator": "010190\u20284785",
    "paragraph separator": "010190\u20294785",
    "next line": "010190\x854785",
}
# Multi-line texts with ordinary numbers on their own lines: accepted.
MULTI_LINE_NEAR_MISSES = ["kl 8\n1234 besøg", "Ring til datteren\n12 34 56 78\n",
                          "Tlf.\r\n+45 12 34 56 78\r\nkl. 0800-1600",
                          "Besøg 01.12.2026\nkl. 14.30", "V-000123\n1234\n5678"]
NEAR_MISSES = ["12 34 56 78", "+45 12 34 56 78", "+4512345678", "01.01.1990", "2026-11-30",
               "30-11-2026", "12345678", "V-000123", "INV-2026-001234", "kl. 0800-1600",
               "320190-4785", "011390-4785", "0101904785123"]


# -- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*VARIANTS, *LINE_BREAKS])
def test_every_pasted_shape_is_found_alone_and_inside_text(name):
    value = (VARIANTS | LINE_BREAKS)[name]
    assert find_national_id(value)
    assert find_national_id(f"Ring til datteren om {value}, tak")


@pytest.mark.parametrize("value", NEAR_MISSES)
def test_near_misses_are_not(value):
    assert find_national_id(value) is None
    assert find_national_id(f"tlf. {value} efter kl. 16") is None


@pytest.mark.parametrize("value", MULTI_LINE_NEAR_MISSES)
def test_numbers_on_lines_of_their_own_are_not(value):
    assert find_national_id(value) is None


@pytest.mark.parametrize("dtype", ["str", object])
def test_the_vectorised_check_says_what_the_single_one_says(dtype):
    from storage.national_ids import national_id_mask

    shapes = [*VARIANTS.values(), *LINE_BREAKS.values()]
    values = [*shapes, *NEAR_MISSES, *MULTI_LINE_NEAR_MISSES,
              *(f"note {v} end" for v in shapes), "", "short"]
    mask = national_id_mask(pd.Series(values, dtype=dtype))
    assert mask.tolist() == [find_national_id(v) is not None for v in values]
    assert mask.sum() == 2 * len(shapes)


# -- imports ----------------------------------------------------------------------------------

def _visits(rows: list[dict]) -> str:
    base = {"visit_id": "V-1", "team": "HAD-A", "citizen_ref": "B-1", "employee_id": "E1",
            "date": "2026-01-05", "minutes": "30", "status": "delivered"}
    lines = ["\t".join(base)]
    for number, row in enumerate(rows):
        values = base | {"visit_id": f"V-{number + 1}"} | row
        lines.append("\t".join(values.values()))
    return "\n".join(lines) + "\n"


def test_every_text_field_of_every_import_refuses_every_shape_without_echoing_it(cli, edge,
                                                                                  tmp_path):
    columns = ("visit_id", "team", "citizen_ref", "employee_id")
    rows = [{column: value} for value in VARIANTS.values() for column in columns]
    visits = tmp_path / "visits.tsv"
    visits.write_text(_visits(rows), encoding="utf-8")
    staff = tmp_path / "staff.csv"
    staff.write_text("employee_id,team,profession,contracted_hours,start_date\n"
                     "010190-4785,HAD-A,nurse,37,2026-01-05\n"
                     "E2,01.01.90-4785,nurse,37,2026-01-05\n"
                     "E3,HAD-A,nurse,0101904785,2026-01-05\n", encoding="utf-8")
    hours = tmp_path / "hours.csv"
    hours.write_text("employee_id;team;date;kind;hours\n"
                     "01 01 90 4785;HAD-A;2026-01-05;worked;7,5\n"
                     "E1;HAD-A;010190\u20134785;worked;7,5\n", encoding="utf-8")
    norms = tmp_path / "norms.csv"
    norms.write_text("team,profession,valid_from,hours_per_week\n"
                     "HAD-A,nurse,2026-01-05,0101904785\n", encoding="utf-8")

    result = cli("import", "visits", visits, ok=False)
    assert result.exit_code == 1
    for line, (row, column) in enumerate(((r, c) for r in range(len(VARIANTS))
                                          for c in columns), start=2):
        assert (f"{visits}, line {line}, column {column}: looks like a CPR number or "
                "fødselsnummer") in result.stderr, (line, column)
    assert f"{len(rows)} errors in 1 file" in result.stderr
    assert "4785" not in result.output + result.stderr
    for kind, path, expected in (("staff", staff, [(2, "employee_id"), (3, "team"),
                                                   (4, "contracted_hours")]),
                                 ("hours", hours, [(2, "employee_id"), (3, "date")]),
                                 ("norms", norms, [(2, "hours_per_week")])):
        result = cli("import", kind, path, ok=False)
        assert result.exit_code == 1, kind
        for line, column in expected:
            assert (f"{path}, line {line}, column {column}: looks like a CPR number or "
                    "fødselsnummer") in result.stderr, (kind, line, column)
        assert f"{len(expected)} error" in result.stderr
        assert "4785" not in result.output + result.stderr
    with edge.sessions.begin() as session:
        for model in (Visit, Norm, Team):
            assert session.scalar(select(text("count(*)")).select_from(model)) == 0


def test_near_misses_are_imported(cli, edge, tmp_path):
    rows = [{"visit_id": value, "citizen_ref": f"B-{n}", "employee_id": value}
            for n, value in enumerate(NEAR_MISSES)]
    rows += [{"team": "2026-11-30"}, {"citizen_ref": "tlf. +45 12 34 56 78"}]
    visits = tmp_path / "visits.tsv"
    visits.write_text(_visits(rows), encoding="utf-8")
    cli("import", "visits", visits)
    with edge.sessions.begin() as session:
        ids = set(session.scalars(select(Visit.visit_id)))
        assert set(NEAR_MISSES) <= ids and len(ids) == len(rows)
        assert session.scalar(select(Team.id).where(Team.code == "2026-11-30")) is not None


# -- typed text -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*VARIANTS, *LINE_BREAKS])
def test_goal_and_follow_up_texts_refuse_every_shape(edge, teams, name):  # noqa: F811
    team_a, _ = teams
    value = f"Datter siger {(VARIANTS | LINE_BREAKS)[name]}"
    for field in ("what_matters", "goal"):
        with edge.sessions.begin() as session, pytest.raises(goals.GoalInputError) as error:
            goals.create_goal(session, MEMBER, team_a, _goal(**{field: value}), NOW)
        assert error.value.field == field
    with edge.sessions.begin() as session, pytest.raises(goals.GoalInputError) as error:
        goals.add_follow_up(session, MEMBER, team_a, value, MEMBER, dt.date(2026, 12, 1), NOW)
    assert error.value.field == "text"
    with edge.sessions.begin() as session, pytest.raises(goals.GoalInputError):
        goals.create_goal(session, MEMBER, team_a, _goal(ref=(VARIANTS | LINE_BREAKS)[name]
                                                        .replace(" ", "")),
                          NOW)
    with edge.sessions.begin() as session:
        assert session.scalar(select(text("count(*)")).select_from(Goal)) == 0
        assert session.scalar(select(text("count(*)")).select_from(FollowUp)) == 0


def test_multi_line_goal_texts_with_ordinary_numbers_are_kept(edge, teams):  # noqa: F811
    team_a, _ = teams
    text_ = "\n".join(MULTI_LINE_NEAR_MISSES)
    with edge.sessions.begin() as session:
        goals.create_goal(session, MEMBER, team_a, _goal(what_matters=text_), NOW)
        goals.add_follow_up(session, MEMBER, team_a, text_, MEMBER, dt.date(2026, 12, 1), NOW)
    with edge.sessions.begin() as session:
        assert session.scalar(select(Goal.what_matters)) == text_


def _ask(edge, command: str, text_: str, user: str = MEMBER):
    with edge.sessions.begin() as session:
        return answer(Request(command, text_, user, CHANNEL_A), session, now=NOW,
                      default_language="en", admins=frozenset({MEMBER}))


@pytest.mark.parametrize("name", ["spaced pairs", "dotted date", "en dash", "zero-width space",
                                  "fullwidth digits", "no-break space"])
def test_slash_commands_refuse_every_shape_before_anything_is_stored_or_echoed(edge, teams,
                                                                                name):  # noqa: F811
    value = VARIANTS[name]
    asked = [("/followup", f"add B-10442 <@{MEMBER2}> 1.12 ring om {value}"),
             ("/followup", f"add {value.replace(' ', '')} <@{MEMBER2}> 1.12 ring"),
             ("/followup", f"add B-10442 <@{MEMBER2}> {value.replace(' ', '')} ring"),
             ("/goal", f"list {value.replace(' ', '')}"),
             ("/teampuls", f"admin link {value.replace(' ', '')}"),
             ("/kpi", value)]
    for command, typed in asked:
        reply = _ask(edge, command, typed)
        assert reply.error and "looks like a CPR number" in reply.text, (command, typed)
        assert "4785" not in reply.text and "４７８５" not in reply.text
    with edge.sessions.begin() as session:
        assert session.scalars(select(FollowUp)).all() == []
        assert sorted(session.scalars(select(Team.code))) == ["HAD-A", "HAD-B"]


def test_forms_refuse_every_shape_beside_the_field(edge, teams):  # noqa: F811
    team_a, _ = teams
    for value in VARIANTS.values():
        for field in ("what_matters", "goal", "citizen_ref"):
            values = {"citizen_ref": "B-10442", "what_matters": "At gå selv", "goal": "200 m",
                      "follow_up_by": MEMBER2, "reassess_on": "2026-12-01"}
            values[field] = value if field != "citizen_ref" else value.replace(" ", "")
            with edge.sessions.begin() as session:
                ctx = interaction_context(session, MEMBER, CHANNEL_A, now=NOW,
                                          default_language="en", team_id=team_a)
                with pytest.raises(FormErrors) as refused:
                    submit("goal", {"team": str(team_a), "channel": CHANNEL_A}, values, ctx)
            assert "CPR" in refused.value.errors[field], (field, value)
    with edge.sessions.begin() as session:
        assert session.scalars(select(Goal)).all() == []


def test_team_codes_and_names_refuse_every_shape(cli, edge, teams):  # noqa: F811
    for value in ("01.01.90-4785", "010190 4785", "010190\u20114785"):
        added = cli("team", "add", value, ok=False)
        assert added.exit_code != 0 and "looks like a CPR number" in added.output + added.stderr
        assert "4785" not in added.output + added.stderr
        named = cli("team", "edit", "HAD-A", "--name", f"Borger {value}", ok=False)
        assert named.exit_code != 0 and "4785" not in named.output + named.stderr
    with edge.sessions.begin() as session:
        assert sorted(session.scalars(select(Team.name))) == ["HAD-A", "HAD-B"]


def test_typed_near_misses_are_accepted(edge, teams):  # noqa: F811
    team_a, _ = teams
    for value in NEAR_MISSES:
        with edge.sessions.begin() as session:
            goals.create_goal(session, MEMBER, team_a, _goal(what_matters=f"tlf. {value}"), NOW)
    reply = _ask(edge, "/followup", f"add B-10442 <@{MEMBER2}> 1.12 ring +45 12 34 56 78 "
                                    "om mødet 01.01.2027")
    assert not reply.error, reply.text
    with edge.sessions.begin() as session:
        assert len(session.scalars(select(Goal)).all()) == len(NEAR_MISSES)
        assert session.scalar(select(FollowUp.text).where(FollowUp.kind == "task")) == (
            "ring +45 12 34 56 78 om mødet 01.01.2027")


# -- subject access and erasure ---------------------------------------------------------------

ERASED_REF = "B-000004"
MENTION = re.compile(r"(?<!\w)B-000004(?!\w)")


def _mentions_left(session) -> list[tuple[str, str]]:
    """(table, column) of every text value that still names B-000004 as a person reads it."""
    from storage.folding import fold

    found = []
    inspector = inspect(session.connection())
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            kind = str(column["type"]).upper()
            if "CHAR" in kind or "TEXT" in kind:
                for (value,) in session.execute(text(
                        f"SELECT {column['name']} FROM {table}")):
                    if value and MENTION.search(fold(value)):
                        found.append((table, column["name"]))
    return found


@pytest.fixture
def citizens(cli, edge, teams, tmp_path):  # noqa: F811
    """B-000004 under look-alike references and mentioned in B-000007's records."""
    team_a, _ = teams
    visits = tmp_path / "visits.tsv"
    visits.write_text(_visits([{"citizen_ref": "B-000004"}, {"citizen_ref": "B\u2013000004"},
                               {"citizen_ref": "B-0000\u200b04"}, {"citizen_ref": "B-000007"},
                               {"citizen_ref": "b-000004"}]), encoding="utf-8")
    cli("import", "visits", visits)
    with edge.sessions.begin() as session:
        own = goals.create_goal(session, MEMBER, team_a, _goal(ref="B-000004"), NOW)
        lookalike = goals.create_goal(session, MEMBER, team_a, _goal(ref="B\u2011000004\u200b"),
                                      NOW)
        other = goals.create_goal(session, MEMBER, team_a, _goal(
            ref="B-000007", what_matters="At se naboen B\u2011000004 igen",
            goal="Kaffe med B-0000\u200b04 hver uge"), NOW)
        goals.edit_goal(session, MEMBER, other.id, _goal(
            ref="B-000007", what_matters="At se naboen igen", goal="Kaffe hver uge"), NOW)
        task = goals.add_follow_up(session, MEMBER, team_a, "Spørg B\u2212000004? Nej: "
                                   "ring til B-000004's datter, ikke B-0000041 eller AB-000004; "
                                   "tjek B-000004s medicin og B-000004ernes",
                                   MEMBER, dt.date(2026, 12, 1), NOW, citizen_ref="B-000007")
        kept = goals.add_follow_up(session, MEMBER, team_a, "b-000004 er en anden borger",
                                   MEMBER, dt.date(2026, 12, 1), NOW, citizen_ref="B-000008")
    return {"own": own.id, "lookalike": lookalike.id, "other": other.id, "task": task.id,
            "kept": kept.id}


def test_export_finds_look_alike_references_and_mentions_in_other_texts(cli, citizens,
                                                                         tmp_path):
    cli("citizen", "export", ERASED_REF, "--out", tmp_path / "export.json")
    exported = json.loads((tmp_path / "export.json").read_text("utf-8"))
    assert sorted(g["id"] for g in exported["goals"]) == [citizens["own"], citizens["lookalike"]]
    assert len(exported["visits"]) == 3  # as written, with an en dash, with a zero-width space
    assert sorted(exported["references"]) == sorted(
        ["B-000004", "B\u2013000004", "B-0000\u200b04", "B\u2011000004\u200b"])
    # B-000007's goal (now and in its history) and follow-up mention B-000004.
    mentions = {(m["in"], m["text_field"], m.get("id")) for m in exported["mentions"]}
    assert mentions == {("goal_change", "old_value", None),  # both texts were edited
                        ("follow_up", "text", citizens["task"])}, exported["mentions"]
    assert len(exported["mentions"]) == 3
    assert all("B-000007" not in json.dumps(m) for m in exported["mentions"])


@pytest.mark.parametrize("ref", ["", "  ", "\u200b", "\u2060\ufeff"])
def test_a_blank_reference_is_a_clear_error(cli, edge, citizens, ref):
    with edge.sessions.begin() as session:
        before = sorted(_mentions_left(session))
    for command in (("export",), ("erase", "--yes")):
        result = cli("citizen", command[0], ref, *command[1:], ok=False)
        assert result.exit_code == 1
        assert "Error: the citizen reference is empty or holds only invisible characters" \
            in result.stderr
    with edge.sessions.begin() as session:
        assert sorted(_mentions_left(session)) == before


def test_erase_of_a_reference_stored_nowhere_redacts_nothing(cli, edge, citizens):
    with edge.sessions.begin() as session:
        before = session.get(FollowUp, citizens["task"]).text
    for word in ("datter", "ring", "B-0000041"):
        result = cli("citizen", "erase", word, "--yes", ok=False)
        assert result.exit_code == 1
        assert f"no goal, follow-up or visit has the citizen reference '{word}'" in result.stderr
    with edge.sessions.begin() as session:
        assert session.get(FollowUp, citizens["task"]).text == before


def test_erase_asks_naming_how_many_texts_it_redacts(cli, edge, citizens):
    with edge.sessions.begin() as session:
        before = sorted(_mentions_left(session))
    result = cli("citizen", "erase", ERASED_REF, input="n\n", ok=False)
    assert f"Erase everything about {ERASED_REF} and redact 3 mentions in other texts?" \
        in result.output
    assert result.exit_code == 1  # aborted
    with edge.sessions.begin() as session:
        assert session.get(Goal, citizens["own"]) is not None
        assert sorted(_mentions_left(session)) == before


def test_erase_removes_look_alikes_and_redacts_mentions_in_other_texts(cli, edge, citizens):
    result = cli("citizen", "erase", ERASED_REF, "--yes")
    assert "3 visits" in result.output and "2 goals" in result.output
    assert "3 texts redacted" in result.output
    with edge.sessions.begin() as session:
        assert _mentions_left(session) == []
        assert session.get(Goal, citizens["own"]) is None
        assert session.get(Goal, citizens["lookalike"]) is None
        other = session.get(Goal, citizens["other"])
        assert (other.what_matters, other.goal) == ("At se naboen igen", "Kaffe hver uge")
        history = {c.field: (c.old_value, c.new_value) for c in session.scalars(
            select(GoalChange).where(GoalChange.goal_id == other.id))}
        assert history["what_matters"] == ("At se naboen [erased] igen", "At se naboen igen")
        assert history["goal"] == ("Kaffe med [erased] hver uge", "Kaffe hver uge")
        assert session.get(FollowUp, citizens["task"]).text == (
            "Spørg [erased]? Nej: ring til [erased]'s datter, ikke B-0000041 eller AB-000004; "
            "tjek [erased]s medicin og [erased]ernes")
        # References are case-sensitive (the contract does not fold case): b-000004 stays.
        assert session.get(FollowUp, citizens["kept"]).text == "b-000004 er en anden borger"
        assert sorted(session.scalars(select(Visit.citizen_ref))) == ["B-000007", "b-000004"]


def _leave_import_copy(edge, when: str) -> None:
    """What an import killed ``when`` ("before" or "after" its final commit) leaves: a shadow
    copy of visits (``visits__import``), or the replaced table (``visits__old``), made by the
    import's own code and left as the killed process leaves it (its cleanup never runs)."""
    from storage.shadow import ShadowTables

    shadows = ShadowTables(edge.engine)
    try:
        shadows.create("visits")
        if when == "after":
            with shadows.transaction() as connection:
                shadows.swap(connection)
    finally:
        shadows.close()  # the lock and the connection go with the process; the tables stay


def _tables_naming(session, ref: str) -> list[str]:
    """Every table in the file (sqlite_schema) with a value that is ``ref`` (a citizen
    reference; mentions inside texts are _mentions_left's)."""
    found = []
    for (table,) in session.execute(text(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")).all():
        columns = [row[1] for row in session.execute(text(f'PRAGMA table_info("{table}")'))]
        for column in columns:
            if session.execute(text(f'SELECT 1 FROM "{table}" WHERE "{column}" = :ref LIMIT 1'),
                               {"ref": ref}).first():
                found.append(table)
                break
    return found


@pytest.mark.skipif("sqlite" not in __import__("os").environ.get("DATABASE_URL", "sqlite"),
                    reason="shadow tables are SQLite's")
@pytest.mark.parametrize("when", ["before", "after"])
def test_erase_removes_the_copies_a_killed_import_left(cli, edge, citizens, tmp_path, when):
    _leave_import_copy(edge, when)
    with edge.reads.begin() as session:
        assert {"visits", f"visits__{'import' if when == 'before' else 'old'}"} <= set(
            _tables_naming(session, "B-000004"))
    cli("citizen", "export", ERASED_REF, "--out", tmp_path / "export.json")
    assert len(json.loads((tmp_path / "export.json").read_text("utf-8"))["visits"]) == 3
    cli("citizen", "erase", ERASED_REF, "--yes")
    with edge.reads.begin() as session:
        assert _tables_naming(session, "B-000004") == []
        assert "visits" in _tables_naming(session, "B-000007")  # the others' rows stay
        names = {name for (name,) in session.execute(text("SELECT name FROM sqlite_schema"))}
        assert not [name for name in names if "__" in name]
        assert names & {"ix_visits_team_week", "ix_visits_team_week_b"}  # its index stays
