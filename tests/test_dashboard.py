"""/dashboard: the weekly dashboard's content, computed independently here from the reports."""

from __future__ import annotations

from commands.context import Request
from commands.dispatch import answer
from commands.i18n import Translator
from commands.kpi_names import show, title
from metrics import weeks
from metrics.kpis import BY_KEY, KPIS
from storage.queries import kpi_report, session_fetch
from tests.conftest import NOW, SAMPLES

FILES = ("staff", "hours", "visits", "norms")
WEEK = "2025-W50"


def _dashboard(edge, text: str):
    with edge.sessions.begin() as session:
        return answer(Request("/dashboard", text, "U0TEST001", "C0NOTEAM1"), session, now=NOW,
                      default_language="en", admins=frozenset())


def test_the_dashboard_says_what_changed_most_and_whom_to_ask(cli, edge):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    cli("team", "edit", "VOJ-N", "--add-rapporter", "U0RAPP001")
    reply = _dashboard(edge, f"VOJ-N {WEEK}")
    assert not reply.error and reply.chart.png.startswith(b"\x89PNG")
    tr = Translator("en")
    week = weeks.parse(WEEK)
    with edge.sessions.begin() as session:
        now = kpi_report(session_fetch(session), "VOJ-N", week)
        before = kpi_report(session_fetch(session), "VOJ-N", week - 1)
        everyone = {code: kpi_report(session_fetch(session), code, week)
                    for code in ("HAD-C", "HAD-V", "VOJ-N", "VOJ-S")}
    for k in KPIS:
        assert f"{title(k.key, tr)}: *{show(k.key, now.values[k.key], tr)}*" in reply.text

    changes = [(abs(now.values[k] - before.values[k]) / max(abs(before.values[k]), 1e-9), k)
               for k in now.values if now.values[k] is not None and before.values[k] is not None
               and now.values[k] != before.values[k]]
    key = max(changes)[1]
    verb = "rose" if now.values[key] > before.values[key] else "fell"
    assert (f"{title(key, tr)} {verb} from {show(key, before.values[key], tr)} to "
            f"{show(key, now.values[key], tr)}.") in reply.text

    standings = [((now.benchmarks[k.key].rank - 1) / (now.benchmarks[k.key].of - 1), k.key)
                 for k in KPIS if k.better != "neither" and now.benchmarks[k.key].rank not in
                 (None, 1) and now.benchmarks[k.key].of > 1]
    weakest = max(standings)[1]
    others = {code: r.values[weakest] for code, r in everyone.items()
              if code != "VOJ-N" and r.values[weakest] is not None}
    best = (max if BY_KEY[weakest].better == "higher" else min)(others, key=others.get)
    assert f"Ask team {best} about {title(weakest, tr).lower()}" in reply.text
    assert "<@U0RAPP001>" in reply.text


def test_a_week_without_data_gets_a_note_not_a_chart(cli, edge):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    reply = _dashboard(edge, "VOJ-N 2024-W10")
    assert reply.chart is None and "No data for this week." in reply.text


def test_the_dashboard_takes_a_team_and_a_week_only(cli, edge):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    reply = _dashboard(edge, "VOJ-N sick")
    assert reply.error and "/dashboard takes a team and a week" in reply.text


def test_the_demo_writes_every_teams_dashboard(cli, tmp_path):
    import json

    result = cli("demo", "--database", tmp_path / "demo.db", "--teams", "2", "--weeks", "4",
                 "--dashboards", tmp_path / "dashboards")
    assert "4 files in" in result.output
    for code in ("HAD-C", "HAD-V"):
        message = json.loads((tmp_path / "dashboards" / f"{code}.json").read_text("utf-8"))
        assert f"team {code}" in message["text"] and message["blocks"][0]["type"] == "section"
        assert (tmp_path / "dashboards" / f"{code}.png").read_bytes().startswith(b"\x89PNG")


def test_the_demo_replaces_only_a_demo_database_unless_forced(cli, tmp_path):
    import sqlite3

    options = ("--teams", "2", "--weeks", "3", "--dashboards", tmp_path / "dashboards")
    real = tmp_path / "teampuls.db"
    cli("--database-url", f"sqlite:///{real}", "team", "add", "OWN", "--name", "Our team")
    before = real.read_bytes()
    refused = cli("demo", "--database", real, *options, ok=False)
    assert refused.exit_code == 1
    assert f"{real} exists and is not a teampuls demo database" in refused.output
    assert "--force" in refused.output and real.read_bytes() == before

    other = tmp_path / "notes.txt"
    other.write_text("not a database\n", "utf-8")
    assert cli("demo", "--database", other, *options, ok=False).exit_code == 1
    assert other.read_text("utf-8") == "not a database\n"

    demo = tmp_path / "demo.db"
    cli("demo", "--database", demo, *options)
    cli("demo", "--database", demo, *options)  # a demo's own database is made afresh

    cli("demo", "--database", real, "--force", *options)
    with sqlite3.connect(real) as connection:
        codes = {row[0] for row in connection.execute("SELECT code FROM teams")}
    assert "OWN" not in codes and codes
