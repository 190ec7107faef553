"""Every reading rule of the contract (§1), all-or-nothing imports, replacement rules, and
hostile files."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from storage.importers import reading
from storage.models import HoursRow, KpiValue, Staff, Team, Visit
from tests.conftest import SAMPLES

STAFF_HEADER = "employee_id,team,profession,contracted_hours,start_date,end_date\n"
HOURS_HEADER = "employee_id,team,date,kind,hours,profession\n"
VISITS_HEADER = "visit_id,team,citizen_ref,employee_id,date,minutes,status\n"


def count(edge, model) -> int:
    with edge.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_every_bad_row_is_listed_with_file_line_and_column_and_nothing_is_written(cli, edge, tmp_path):
    good = write(tmp_path / "staff.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n")
    bad = write(tmp_path / "visits.csv", VISITS_HEADER
                + "V1,T1,B-1,E1,2025-01-06,30,delivered\n"
                + "\n"  # blank line 3 is skipped but still counted
                + "V2,T1,B-2,E1,2025-13-01,30,delivered\n"
                + "V3,T1,B-3,E1,2025-01-07,0,delivered\n"
                + "V4,T1,B-4,E1,2025-01-07,30,maybe\n"
                + "V1,T1,B-5,E1,2025-01-08,30,delivered\n"
                + "V6,T1,010190-1234,E1,2025-01-08,30,delivered\n"
                + "V7,,B-7,E1,2025-01-08,12.5,leveret\n")
    result = cli("import", good, bad, ok=False)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    where = str(bad)
    assert f"{where}, line 4, column date: '2025-13-01' is not a date" in result.stderr
    assert f"{where}, line 5, column minutes: '0' is out of range (above 0 and at most 1440)" in result.stderr
    assert f"{where}, line 6, column status: 'maybe' is not a known status" in result.stderr
    assert f"{where}, line 7: repeats the visit_id of line 2" in result.stderr
    assert f"{where}, line 8, column citizen_ref: looks like a CPR number" in result.stderr
    assert f"{where}, line 9, column team: a value is required" in result.stderr
    assert f"{where}, line 9, column minutes: '12.5' is not a whole number" in result.stderr
    assert "Error: 7 errors in 1 file; nothing was imported" in lines[-1]
    assert "1990" not in result.output  # the refused personal number is not echoed back
    assert count(edge, Staff) == 0 and count(edge, Visit) == 0 and count(edge, Team) == 0


def test_missing_and_doubled_columns_are_named(cli, tmp_path):
    path = write(tmp_path / "h.csv", "medarbejder;hold;hold;dato;timer\nE1;T;T;01-01-2025;7\n")
    result = cli("import", "hours", path, ok=False)
    assert "line 1, column hold: the header names team twice" in result.stderr
    assert "line 1: the required column kind is missing (accepted names: kind, type, art)" in result.stderr


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_encodings_give_the_same_result(cli, edge, tmp_path, encoding):
    text = ("medarbejder;hold;faggruppe;normtid;startdato;slutdato\r\n"
            "E1;TØ;Social- og sundhedshjælper;32,5;06.01.2025;\r\n"
            "E2;TØ;Pædagog;30;06/01/2025;31-12-2025\r\n")
    cli("import", write(tmp_path / "staff.csv", text, encoding))
    with edge.sessions.begin() as session:
        rows = session.execute(select(Staff.employee_id, Staff.profession, Staff.contracted_hours,
                                      Staff.end_date).order_by(Staff.employee_id)).all()
        codes = session.scalars(select(Team.code)).all()
    assert codes == ["TØ"]
    assert [(r[0], r[1], r[2]) for r in rows] == [("E1", "sosu_helper", 32.5), ("E2", "pedagogue", 30.0)]
    assert str(rows[1][3]) == "2025-12-31"


def test_tab_separated_norwegian_export_with_aliases(cli, edge, tmp_path):
    text = ("ansatt_id\tHOLD \t Dato\tart\ttimer\tyrkesgruppe\textra\n"
            "A1\tOSL-1\t2025-03-03\tEgenmelding\t7,5\t\tignored\n"
            "\tOSL-1\t2025-03-03\tInnleie\t3,25\tHjelpepleier\t\n"
            "A1\tOSL-1\t2025-03-04\tSykt barn\t7,5\t\t\n")
    cli("import", write(tmp_path / "timer.tsv", text))
    with edge.sessions.begin() as session:
        rows = session.execute(select(HoursRow.kind, HoursRow.hours, HoursRow.profession)
                               .order_by(HoursRow.date, HoursRow.kind)).all()
    assert [tuple(r) for r in rows] == [("sick", 7.5, None), ("temp", 3.25, "sosu_assistant"),
                                        ("child_sick", 7.5, None)]


def test_employee_is_required_on_hours_unless_temp(cli, tmp_path):
    path = write(tmp_path / "h.csv", HOURS_HEADER + ",T1,2025-01-06,worked,7,\n")
    result = cli("import", path, ok=False)
    assert "line 2, column employee_id: a value is required unless the kind is temp" in result.stderr


def test_hours_file_replaces_its_team_date_pairs_and_is_idempotent(cli, edge, tmp_path):
    first = write(tmp_path / "a.csv", HOURS_HEADER + "E1,T1,2025-01-06,worked,4,\n"
                  "E1,T1,2025-01-06,worked,3,\nE1,T1,2025-01-07,worked,7,\n")
    cli("import", first)
    cli("import", first)
    assert count(edge, HoursRow) == 3  # split shifts add up, the repeat changes nothing
    second = write(tmp_path / "b.csv", HOURS_HEADER + "E1,T1,2025-01-06,sick,7.4,\n")
    cli("import", second)
    with edge.sessions.begin() as session:
        rows = session.execute(select(HoursRow.date, HoursRow.kind, HoursRow.hours)
                               .order_by(HoursRow.date)).all()
    assert [(str(d), k, h) for d, k, h in rows] == [("2025-01-06", "sick", 7.4),
                                                    ("2025-01-07", "worked", 7.0)]


def test_reimported_visit_moves_and_both_weeks_are_recomputed(cli, edge, tmp_path):
    cli("import", write(tmp_path / "v1.csv", VISITS_HEADER + "V1,T1,B-1,E1,2025-01-06,30,delivered\n"
                        "V2,T1,B-1,E2,2025-01-07,30,delivered\n"))
    cli("import", write(tmp_path / "v2.csv", VISITS_HEADER + "V2,T1,B-1,E2,2025-01-14,60,delivered\n"))
    data = json.loads(cli("kpi", "--team", "T1", "--week", "2025-W02", "--json").output)["kpis"]
    assert data["clients"] == 1 and data["hours_per_client"] == 0.5
    # continuity of W03 looks at W02 and W03 together: one citizen, two carers
    assert json.loads(cli("kpi", "--team", "T1", "--week", "2025-W03", "--json").output)[
        "kpis"]["continuity"] == 2.0


def test_staff_reimport_replaces_by_key_and_updates_sick_leave(cli, edge, tmp_path):
    cli("import", write(tmp_path / "h.csv", HOURS_HEADER + "E1,T1,2025-01-06,sick,7.4,\n"))
    cli("import", write(tmp_path / "s.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-01,\n"))
    week = ["kpi", "--team", "T1", "--week", "2025-W02", "--json"]
    assert json.loads(cli(*week).output)["kpis"]["sick_leave"] == pytest.approx(0.2)
    cli("import", write(tmp_path / "s2.csv", STAFF_HEADER + "E1,T1,nurse,29.6,2025-01-01,\n"))
    assert count(edge, Staff) == 1
    assert json.loads(cli(*week).output)["kpis"]["sick_leave"] == pytest.approx(0.25)


def test_a_change_of_an_earlier_day_updates_the_sick_episode_that_follows(cli, tmp_path):
    # Sick on Monday of week 3 after working on Friday of week 2: a new episode in week 3.
    cli("import", write(tmp_path / "a.csv", HOURS_HEADER + "E1,T1,2025-01-10,worked,7,\n"
                        "E1,T1,2025-01-13,sick,7,\n"))
    week3 = ["kpi", "--team", "T1", "--week", "2025-W03", "--json"]
    assert json.loads(cli(*week3).output)["kpis"]["sick_episodes"] == 1
    # Friday is corrected to a sick day: the episode now began in week 2.
    cli("import", write(tmp_path / "b.csv", HOURS_HEADER + "E1,T1,2025-01-10,sick,7,\n"))
    assert json.loads(cli(*week3).output)["kpis"]["sick_episodes"] == 0


def test_xlsx_with_date_cells_numbers_and_formula_text(cli, edge, tmp_path):
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Medarbejder", "Hold", "Faggruppe", "Normtid", "Startdato", "Slutdato"])
    sheet.append(["E1", "T1", "SSA", 37, dt.datetime(2025, 1, 6), None])
    sheet.append(["=HYPERLINK(\"x\")", "T1", "SSA", "=30+7", dt.date(2025, 1, 6), None])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    result = cli("import", path, ok=False)
    # the formula is kept as text: not evaluated, so not a number
    assert "line 3, column Normtid: '=30+7' is not a number" in result.stderr
    sheet.delete_rows(3)
    book.save(path)
    cli("import", path)
    with edge.sessions.begin() as session:
        assert session.execute(select(Staff.employee_id, Staff.contracted_hours)).one() == ("E1", 37.0)


def test_zip_bomb_and_oversized_files_are_refused_before_reading(cli, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (50 * 1024**2) + b"</a>")
    result = cli("import", "staff", bomb, ok=False)
    assert "compressed over 200 times: refused as a possible zip bomb" in result.stderr

    big = write(tmp_path / "big.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n" * 40000)
    tiny = cli.edge.settings.__class__.from_environ(
        {"DATABASE_URL": cli.edge.settings.database_url, "TEAMPULS_IMPORT_MAX_MB": "1"})
    import dataclasses

    cli.edge = dataclasses.replace(cli.edge, settings=tiny)
    result = cli("import", big, ok=False)
    assert "over the limit of 1 MB (TEAMPULS_IMPORT_MAX_MB)" in result.stderr


def test_xml_bomb_in_xlsx_is_refused(cli, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["employee_id"])
    path = tmp_path / "x.xlsx"
    book.save(path)
    entity = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    body = parts["xl/workbook.xml"].decode()
    if body.startswith("<?xml"):
        body = body.split("?>", 1)[1]
    parts["xl/workbook.xml"] = (entity + body).encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    result = cli("import", "staff", path, ok=False)
    assert result.exit_code == 1
    assert f"{path}: the XLSX file declares XML entities (a possible XML bomb): refused" in result.stderr


def test_unknown_header_and_not_csv(cli, tmp_path):
    result = cli("import", write(tmp_path / "x.csv", "a,b\n1,2\n"), ok=False)
    assert "cannot tell the kind of file from its header" in result.stderr
    result = cli("import", "staff", write(tmp_path / "x.csv", 'employee_id,"team\nx'), ok=False)
    assert result.exit_code == 1


def test_reader_counts_lines_of_quoted_multiline_fields(tmp_path):
    path = write(tmp_path / "s.csv", STAFF_HEADER + '"E\n1",T1,nurse,37,2025-01-06,\n\nE2,T1,x,1,1,\n')
    chunk = next(reading.open_table(path, 10**6).chunks)
    assert chunk.lines.tolist() == [2, 5]
    assert chunk.columns[0].tolist() == ["E\n1", "E2"]


@pytest.mark.parametrize("quoted", [False, True])
def test_rows_with_more_fields_than_the_header_are_refused(cli, tmp_path, quoted):
    extra = '"x"' if quoted else "x"
    path = write(tmp_path / "s.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n"
                 + f"E2,T1,nurse,37,2025-01-06,,{extra}\n")
    result = cli("import", path, ok=False)
    assert "line 3" in result.stderr and "the header has 6" in result.stderr


def test_kpi_values_only_for_weeks_with_data(cli, edge):
    cli("import", SAMPLES / "canonical" / "staff.csv")
    assert count(edge, KpiValue) == 0  # staff alone makes no KPI week


@pytest.mark.parametrize("refused", [False, True])
def test_a_first_load_leaves_every_index_and_foreign_key_in_place(cli, edge, tmp_path, refused):
    """Loads into empty tables drop their indexes (and foreign keys on PostgreSQL) for speed
    and build them again; whatever the outcome, the schema is whole afterwards."""
    from sqlalchemy import inspect

    from storage.shadow import model_index_name

    def shape():
        inspector = inspect(edge.engine)
        # an import swaps in its shadow's indexes under their other names (storage.shadow)
        return {t: (sorted(model_index_name(i["name"]) for i in inspector.get_indexes(t)),
                    len(inspector.get_foreign_keys(t))) for t in ("visits", "hours")}

    before = shape()
    assert before["visits"][0] == ["ix_visits_team_week"]
    visits = write(tmp_path / "visits.csv", VISITS_HEADER + "V1,T1,B-1,E1,2025-01-06,30,delivered\n"
                   + ("V2,T1,B-1,E1,2025-01-06,-5,delivered\n" if refused else ""))
    hours = write(tmp_path / "hours.csv", HOURS_HEADER + "E1,T1,2025-01-06,worked,7.5,\n")
    cli("import", visits, hours, ok=not refused)
    assert shape() == before
    assert count(edge, Visit) == (0 if refused else 1)
    # SQLite skips the row-by-row foreign key checks during the load: the pooled connection
    # has them back on afterwards
    with edge.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _rows(path) -> list[tuple[int, list[str]]]:
    """The rows a reader gives, less those the checker drops as blank."""
    table = reading.open_table(path, 10**6)
    rows = [(int(line), [str(c.iat[i]) for c in chunk.columns])
            for chunk in table.chunks for i, line in enumerate(chunk.lines)]
    return [(line, fields) for line, fields in rows if any(f.strip() for f in fields)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_the_fast_reader_reads_as_the_exact_reader_does(tmp_path, encoding, separator):
    """Files without quotes go through Arrow's reader, the others through Python's csv module;
    line numbers, blank lines, short rows, empty trailing fields and every encoding must come
    out the same."""
    lines = ["", "medarbejder,hold,dato,type,timer", "Æ1,Ø-T,06-01-2025,syg,7", "",
             "E2,T,06-01-2025", "E3,T,07-01-2025,ferie,7,,", " ,  ,,,", "E4,T,08-01-2025,arbejde,5"]
    text = "\r\n".join(line.replace(",", separator) for line in lines) + "\r\n"
    fast = write(tmp_path / "fast.csv", text, encoding)
    exact = write(tmp_path / "exact.csv", text.replace("Æ1", '"Æ1"'), encoding)
    assert _rows(fast) == _rows(exact)
    assert [line for line, _ in _rows(fast)] == [3, 5, 6, 8]
    assert _rows(fast)[1][1] == ["E2", "T", "06-01-2025", "", ""]


def test_bytes_cp1252_leaves_undefined_refuse_the_file(tmp_path):
    """They were read as U+FFFD once; tests/test_import_integrity.py has the full rules."""
    path = tmp_path / "s.csv"
    path.write_bytes(STAFF_HEADER.encode() + b"E\x81\xe6,T1,nurse,37,2025-01-06,\n")
    with pytest.raises(reading.UnreadableFile, match="line 2, byte 67: 0x81 is not UTF-8"):
        _rows(path)
