"""The sample exports (docs/samples) must give exactly the expected KPI values and benchmarks (contract §3)."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest

from metrics import weeks
from storage.queries import kpi_report, session_fetch
from tests.conftest import NOW, ROOT, SAMPLES

EXPECTED = list(csv.DictReader((SAMPLES / "expected_kpis.csv").open(encoding="utf-8")))
FILES = ("staff", "hours", "visits", "norms")


def _close(actual, expected: str) -> bool:
    if expected == "":
        return actual is None
    return actual is not None and math.isclose(actual, float(expected), rel_tol=1e-9, abs_tol=0)


def _check_all(edge) -> list[str]:
    reports = {}
    wrong = []
    with edge.sessions.begin() as session:
        for row in EXPECTED:
            key = (row["team"], row["week"])
            if key not in reports:
                reports[key] = kpi_report(session_fetch(session), row["team"], weeks.parse(row["week"]))
            report = reports[key]
            b = report.benchmarks[row["kpi"]]
            checks = {
                "value": _close(report.values[row["kpi"]], row["value"]),
                "median": _close(b.median, row["median"]),
                "p25": _close(b.p25, row["p25"]),
                "p75": _close(b.p75, row["p75"]),
                "rank": (b.rank is None) if row["rank"] == "" else b.rank == int(float(row["rank"])),
                "of": b.of == int(row["of"]),
            }
            wrong += [f"{row['team']} {row['week']} {row['kpi']} {name}"
                      for name, good in checks.items() if not good]
    return wrong


@pytest.mark.parametrize("dialect", ["canonical", "danish"])
def test_each_sample_dialect_reproduces_every_expected_row(cli, edge, dialect):
    folder = SAMPLES / dialect
    cli("import", *(folder / f"{kind}.csv" for kind in FILES))
    assert _check_all(edge) == []


def test_order_of_files_and_repeated_imports_do_not_change_values(cli, edge):
    folder = SAMPLES / "canonical"
    for kind in reversed(FILES):  # one command per file, in another order
        cli("import", kind, folder / f"{kind}.csv")
    cli("import", *(folder / f"{kind}.csv" for kind in FILES))  # and everything again
    assert _check_all(edge) == []


def test_json_output_follows_the_contract(cli):
    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    row = next(r for r in EXPECTED if r["team"] == "VOJ-N" and r["kpi"] == "productivity")
    out = json.loads(cli("kpi", "--team", "VOJ-N", "--week", row["week"], "--json").output)
    assert set(out) == {"team", "week", "kpis", "benchmark"}
    assert out["team"] == "VOJ-N" and out["week"] == row["week"]
    keys = {"productivity", "sick_leave", "temp_share", "clients", "hours_per_client",
            "continuity", "sick_episodes"}
    assert set(out["kpis"]) == keys and set(out["benchmark"]) == keys
    assert out["kpis"]["productivity"] == pytest.approx(float(row["value"]), rel=1e-12)
    assert set(out["benchmark"]["productivity"]) == {"median", "p25", "p75", "rank", "of"}
    assert out["benchmark"]["clients"]["rank"] is None


def test_mixed_sample_files_in_one_folder_are_recognised_by_header(cli, edge, tmp_path):
    for kind in FILES:  # danish headers, names that say nothing of the kind
        shutil.copy(SAMPLES / "danish" / f"{kind}.csv", tmp_path / f"export-{len(kind)}{kind[0]}.csv")
    result = cli("import", *sorted(tmp_path.iterdir()))
    assert "4,943 hours rows" in result.output
    assert _check_all(edge) == []


def test_kpi_reads_the_same_through_plain_db_api(cli, edge):
    from storage.quick_read import open_fetch

    cli("import", *(SAMPLES / "danish" / f"{kind}.csv" for kind in FILES))
    row = EXPECTED[len(EXPECTED) // 2]
    week = weeks.parse(row["week"])
    with open_fetch(edge.settings.database_url) as fetch:
        assert fetch is not None, "a current database is read the quick way"
        quick = kpi_report(fetch, row["team"], week)
    with edge.sessions.begin() as session:
        assert quick == kpi_report(session_fetch(session), row["team"], week)


def test_the_quick_way_leaves_a_new_database_to_the_full_way(tmp_path):
    from storage.quick_read import open_fetch

    with open_fetch(f"sqlite:///{tmp_path / 'new.db'}") as fetch:
        assert fetch is None
    assert not (tmp_path / "new.db").exists()


def test_kpi_json_starts_without_sqlalchemy(cli, edge):
    """``teampuls kpi --json`` must start fast (issue 2: under 400 ms); SQLAlchemy alone costs
    most of that, so the command must not import it on a current database."""
    import subprocess
    import sys

    cli("import", *(SAMPLES / "canonical" / f"{kind}.csv" for kind in FILES))
    row = EXPECTED[0]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "--database-url",
         edge.settings.database_url, "kpi", "--team", row["team"], "--week", row["week"], "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert json.loads(done.stdout)["team"] == row["team"]
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "pandas", "alembic")}


def test_a_first_load_sums_visits_and_hours_in_hand_as_the_table_would(cli, edge, tmp_path):
    """A first load into empty tables sums the visits and hours it holds instead of reading
    them back (sick episodes included); recomputing every team-week from the table must store
    the same values (fractional hours summed in another order may differ in the last bit)."""
    from sqlalchemy import select

    from storage.demo_exports import DemoShape, generate
    from storage.kpi_refresh import refresh_team_weeks
    from storage.models import KpiValue

    generate(weeks.monday(weeks.last_complete(NOW.date())), DemoShape(teams=3, weeks=8)).write(
        tmp_path)
    cli("import", *(tmp_path / f"{kind}.csv" for kind in FILES))

    def stored():
        with edge.sessions.begin() as session:
            return {(r.team_id, r.week, r.kpi): (r.value, r.numerator, r.denominator)
                    for r in session.scalars(select(KpiValue))}

    in_hand = stored()
    with edge.sessions.begin() as session:
        refresh_team_weeks(session.connection(), {(t, w) for t, w, _ in in_hand})
    read_back = stored()
    assert len(in_hand) == 3 * 8 * 7
    assert read_back.keys() == in_hand.keys()
    for key, values in in_hand.items():
        for got, want in zip(read_back[key], values, strict=True):
            assert got == want if want is None else got == pytest.approx(want, rel=1e-12), key
