"""Imports that must never lose or corrupt data silently (issue 17), and CSV outputs that a
spreadsheet cannot turn into formulas.

Every test drives the real command line; each failed on the code before the fix: a stale XLSX
dimension, mixed or cut-off encodings, header-only files, re-imports, error floods and
formula injection in written CSV files."""

from __future__ import annotations

import csv
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from metrics import weeks
from storage.models import KpiValue, KpiVersion, Staff, Team, Visit
from tests.test_import_rules import HOURS_HEADER, STAFF_HEADER, VISITS_HEADER, count, write


def _kpi_version(edge) -> int:
    with edge.sessions.begin() as session:
        return session.scalar(select(KpiVersion.version))


def _staff_codes(edge) -> list[str]:
    with edge.sessions.begin() as session:
        return session.scalars(select(Staff.employee_id).order_by(Staff.employee_id)).all()


# -- XLSX -------------------------------------------------------------------------------------

def _stale_dimension(path, ref: str) -> None:
    """Rewrite the first sheet's <dimension> tag, as some exporters leave it."""
    with zipfile.ZipFile(path) as source:
        parts = {info: source.read(info.filename) for info in source.infolist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in parts.items():
            if info.filename == "xl/worksheets/sheet1.xml":
                data, replaced = re.subn(rb'<dimension ref="[^"]*"',
                                         f'<dimension ref="{ref}"'.encode(), data)
                assert replaced == 1
            target.writestr(info.filename, data)


def test_an_xlsx_with_a_stale_dimension_tag_imports_every_row(cli, edge, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "team", "profession", "contracted_hours", "start_date",
                  "end_date"])
    for i in range(100):
        sheet.append([f"E{i:03d}", "T1", "nurse", 37, "2025-01-06", None])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    _stale_dimension(path, "A1:B2")  # two rows, two columns
    result = cli("import", path)
    assert "Imported 100 staff rows" in result.output
    assert _staff_codes(edge) == [f"E{i:03d}" for i in range(100)]
    with edge.sessions.begin() as session:  # every column was read, not just A and B
        assert session.scalar(select(func.count()).where(Staff.contracted_hours == 37)) == 100


def test_a_row_beyond_a_stale_dimension_is_checked_too(cli, edge, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "team", "profession", "contracted_hours", "start_date"])
    sheet.append(["E1", "T1", "nurse", 37, "2025-01-06"])
    sheet.append(["E2", "T1", "nurse", "many", "2025-01-06"])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    _stale_dimension(path, "A1:E2")
    result = cli("import", path, ok=False)
    assert "line 3, column contracted_hours: 'many' is not a number" in result.stderr
    assert count(edge, Staff) == 0


def test_an_xlsx_cell_right_of_the_header_refuses_the_file_naming_the_line(cli, edge, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "team", "profession", "contracted_hours", "start_date",
                  "end_date"])
    sheet.append(["E1", "T1", "nurse", 37, "2025-01-06", None, None, "  "])  # empty cells are fine
    sheet.append(["E2", "T1", "nurse", 37, "2025-01-06", None, None, "note"])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    result = cli("import", path, ok=False)
    assert "line 3 has 8 cells, the header has 6" in result.stderr
    assert count(edge, Staff) == 0


def test_an_xlsx_with_empty_cells_right_of_the_header_imports(cli, edge, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "team", "profession", "contracted_hours", "start_date",
                  "end_date"])
    sheet.append(["E1", "T1", "nurse", 37, "2025-01-06", None, None, ""])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    result = cli("import", path)
    assert "Imported 1 staff rows" in result.output


# -- encodings --------------------------------------------------------------------------------

@pytest.fixture(params=["fast", "exact"])
def reader(request):
    """Files without quote characters go through Arrow's reader, the others through Python's
    csv module: both must follow the same encoding rules."""
    return request.param


def _visits(reader: str, *rows: str) -> bytes:
    quote = (lambda v: f'"{v}"') if reader == "exact" else (lambda v: v)
    return (VISITS_HEADER + "".join(
        ",".join([quote(f"V{i}"), *row.split(",")]) + "\n" for i, row in enumerate(rows))).encode()


def test_one_stray_byte_in_a_utf8_file_refuses_the_file_naming_line_and_byte(
        cli, edge, tmp_path, reader):
    data = _visits(reader, "T1,B-Ærø-1,E1,2025-01-06,30,delivered",
                   "T1,B-2,E1,2025-01-06,30,delivered",
                   "T1,B-\x00,E1,2025-01-06,30,delivered")
    data = data.replace(b"\x00", b"\xf8")  # one Windows-1252 'ø' in an otherwise UTF-8 file
    offset = data.index(b"\xf8")
    path = tmp_path / "visits.csv"
    path.write_bytes(data)
    result = cli("import", path, ok=False)
    assert result.exit_code == 1
    assert f"{path}: line 4, byte {offset + 1:,}: 0xF8 is not UTF-8" in result.stderr
    assert count(edge, Visit) == 0
    assert "Ã" not in result.output + result.stderr


def test_a_utf8_file_cut_inside_a_letter_is_refused(cli, edge, tmp_path, reader):
    quote = '"' if reader == "exact" else ""
    data = ("visit_id,team,employee_id,date,minutes,status,citizen_ref\n"
            f"{quote}V1{quote},T1,E1,2025-01-06,30,delivered,B-Ærø-1\n"
            "V2,T1,E1,2025-01-06,30,delivered,B-Ø").encode()[:-1]  # cut inside the Ø
    path = tmp_path / "visits.csv"
    path.write_bytes(data)
    result = cli("import", path, ok=False)
    assert f"{path}: line 3, byte {len(data):,}: the file ends inside a UTF-8 character" \
        in result.stderr
    assert count(edge, Visit) == 0


def test_utf8_and_windows_1252_files_are_each_read_as_written(cli, edge, tmp_path, reader):
    utf8 = tmp_path / "a.csv"
    utf8.write_bytes(_visits(reader, "T1,B-Ærø-1,E1,2025-01-06,30,delivered"))
    cli("import", utf8)
    old = tmp_path / "b.csv"  # an old system's export: Windows-1252, no UTF-8 anywhere
    old.write_bytes(_visits(reader, "T1,B-Ærø-2,E1,2025-01-06,30,delivered").decode()
                    .replace("V0", "V1").encode("cp1252"))
    cli("import", old)
    with edge.sessions.begin() as session:
        assert session.scalars(select(Visit.citizen_ref).order_by(Visit.visit_id)).all() == [
            "B-Ærø-1", "B-Ærø-2"]


def test_bytes_windows_1252_leaves_undefined_are_refused(cli, edge, tmp_path, reader):
    data = _visits(reader, "T1,B-\x00-1,E1,2025-01-06,30,delivered").replace(b"\x00", b"\xe6\x81")
    path = tmp_path / "visits.csv"
    path.write_bytes(data)
    byte = data.index(b"\x81") + 1
    result = cli("import", path, ok=False)
    assert (f"{path}: line 2, byte {byte:,}: 0x81 is not UTF-8, and "
            "Windows-1252 leaves it undefined") in result.stderr
    assert count(edge, Visit) == 0


def test_a_stray_byte_after_a_utf8_bom_is_named(cli, edge, tmp_path):
    data = b"\xef\xbb\xbf" + STAFF_HEADER.encode() + b"E1,T1,nurse,37,2025-01-06,\n" \
        + b"E\xe62,T1,nurse,37,2025-01-06,\n"
    path = tmp_path / "staff.csv"
    path.write_bytes(data)
    byte = data.index(b"\xe6") + 1
    result = cli("import", path, ok=False)
    assert f"{path}: line 3, byte {byte:,}: 0xE6 is not UTF-8" in result.stderr
    assert count(edge, Staff) == 0


def test_the_encoding_rules_hold_across_the_scans_blocks(tmp_path):
    from storage.importers import reading

    path = tmp_path / "x.csv"
    block = reading._BLOCK
    # A Windows-1252 'Ø' (a byte that may lead a UTF-8 sequence) ends a block: not a letter.
    path.write_bytes(b"a" * (block - 1) + b"\xd8b\nc\xe6d\n")
    assert reading._scan(path).encoding == "cp1252"
    # A UTF-8 letter split over two blocks.
    path.write_bytes(b"a" * (block - 1) + "Ø".encode() + b"b\n")
    assert reading._scan(path).encoding == "utf-8"
    # A CR LF split over two blocks is one line break.
    path.write_bytes(b"h\n" + b"a" * (block - 3) + b"\r\n" + "Æ".encode() + b"x\xf8\n")
    with pytest.raises(reading.UnreadableFile, match=f"^line 3, byte {block + 5:,}: 0xF8"):
        reading._scan(path)


# -- empty files and re-imports ---------------------------------------------------------------

@pytest.mark.parametrize("body", ["", "\n\n", ",,,,,\n"])
def test_a_header_only_file_is_refused_and_nothing_is_written(cli, edge, tmp_path, body):
    good = write(tmp_path / "hours.csv", HOURS_HEADER + "E1,T1,2025-01-06,worked,7,\n")
    empty = write(tmp_path / "staff.csv", STAFF_HEADER + body)
    result = cli("import", good, empty, ok=False)
    assert result.exit_code == 1
    assert f"{empty}: the file holds a header but no rows" in result.stderr
    assert count(edge, Team) == 0


def test_importing_the_same_files_again_changes_nothing_and_recomputes_nothing(
        cli, edge, tmp_path):
    staff = write(tmp_path / "staff.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n")
    hours = write(tmp_path / "hours.csv", HOURS_HEADER + "E1,T1,2025-01-06,worked,7,\n"
                  "E1,T1,2025-01-07,sick,7,\n")
    first = cli("import", staff, hours)
    assert "KPI values recomputed" in first.output
    version = _kpi_version(edge)
    with edge.sessions.begin() as session:
        values = session.execute(select(KpiValue.team_id, KpiValue.week, KpiValue.kpi,
                                        KpiValue.value).order_by(KpiValue.kpi)).all()
    again = cli("import", staff, hours)
    assert again.output.startswith("Nothing changed: ")
    assert "recomputed" not in again.output
    assert _kpi_version(edge) == version
    with edge.sessions.begin() as session:
        assert session.execute(select(KpiValue.team_id, KpiValue.week, KpiValue.kpi,
                                      KpiValue.value).order_by(KpiValue.kpi)).all() == values

    # Another file in between: the first one changes data again, and is imported.
    other = write(tmp_path / "hours2.csv", HOURS_HEADER + "E1,T1,2025-01-07,worked,7,\n")
    cli("import", other)
    third = cli("import", hours)
    assert "KPI values recomputed" in third.output
    assert _kpi_version(edge) == version + 2
    with edge.sessions.begin() as session:
        sick = session.scalar(select(KpiValue.value).where(KpiValue.kpi == "sick_leave"))
    assert sick == pytest.approx(7 / 37)  # the sick day is back


def test_a_file_changed_since_is_imported_again(cli, edge, tmp_path):
    path = write(tmp_path / "x.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n")
    cli("import", path)
    assert cli("import", path).output.startswith("Nothing changed: ")
    path.write_text(STAFF_HEADER + "E1,T1,nurse,30,2025-01-06,\n", encoding="utf-8")
    assert "Imported 1 staff rows" in cli("import", path).output


def test_the_same_files_imported_by_an_earlier_release_are_checked_again(cli, edge, tmp_path):
    """After an upgrade whose rules differ, "the same files" are not the same import: they are
    checked and computed by the new rules (here the last import's record is one an earlier
    release wrote, whose fingerprint covered the files only)."""
    import hashlib

    from storage.models import ImportRun

    path = write(tmp_path / "x.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n")
    cli("import", path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with edge.sessions.begin() as session:
        last = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
        last.fingerprint = hashlib.sha256(f"staff:{digest}".encode()).hexdigest()
    again = cli("import", path)
    assert not again.output.startswith("Nothing changed")
    assert "Imported 1 staff rows" in again.output


def test_optional_columns_may_be_left_out_of_a_file(cli, edge, tmp_path):
    """A staff file without end_date (CSV or XLSX) means what empty end dates mean."""
    header = "employee_id,team,profession,contracted_hours,start_date\n"
    csv_path = write(tmp_path / "staff.csv", header + "E1,T1,nurse,37,2025-01-06\n")
    assert "Imported 1 staff rows" in cli("import", csv_path).output
    book = openpyxl.Workbook()
    book.active.append(header.strip().split(","))
    book.active.append(["E2", "T1", "nurse", 30, "2025-01-06"])
    book.save(tmp_path / "staff.xlsx")
    assert "Imported 1 staff rows" in cli("import", tmp_path / "staff.xlsx").output
    with edge.sessions.begin() as session:
        assert session.execute(select(Staff.employee_id, Staff.end_date)
                               .order_by(Staff.employee_id)).all() == [("E1", None),
                                                                       ("E2", None)]


# -- many errors ------------------------------------------------------------------------------

def test_a_flood_of_errors_names_the_first_hundred_and_counts_the_rest(cli, edge, tmp_path):
    good = write(tmp_path / "a.csv", STAFF_HEADER + "E1,T1,nurse,37,2025-01-06,\n")
    rows = "".join(f"E{i},T1,nurse,lots,2025-01-06,\n" for i in range(2500))
    bad = write(tmp_path / "b.csv", STAFF_HEADER + rows)
    worse = write(tmp_path / "c.csv", STAFF_HEADER + rows)
    result = cli("import", good, bad, worse, ok=False)
    listed = [line for line in result.stderr.splitlines() if "is not a number" in line]
    assert listed == [f"{bad}, line {n}, column contracted_hours: 'lots' is not a number"
                      for n in range(2, 102)]
    assert "… and 4,900 more errors in 2 file(s)" in result.stderr
    assert "5,000 errors in 2 files; nothing was imported" in result.stderr
    assert count(edge, Staff) == 0


# -- CSV outputs ------------------------------------------------------------------------------

# (tab and CR at the start are stripped by the series reader: tested on the function itself)
HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def _cells(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _safe(cell: str) -> bool:
    return not cell or cell[0] not in "=+-@\t\r" or re.fullmatch(r"-?\d+(\.\d+)?", cell)


def test_forecast_output_cannot_hold_a_formula(cli, tmp_path):
    rng = np.random.default_rng(1)
    first = weeks.parse("2024-W01")
    rows = [{"team": team, "profession": "nurse", "week": weeks.label(first + i),
             "hours": round(float(h), 1)}
            for team in HOSTILE for i, h in enumerate(rng.normal(2, 5, 60))]
    pd.DataFrame(rows).to_csv(tmp_path / "series.csv", index=False)
    cli("forecast", tmp_path / "series.csv", "--horizon", "4", "--out", tmp_path / "f.csv")
    cells = _cells(tmp_path / "f.csv")
    assert all(_safe(cell) for row in cells for cell in row), cells
    assert {row[0] for row in cells[1:]} == {"'" + team for team in HOSTILE}
    assert all(float(cell) >= 0 for row in cells[1:] for cell in row[3:])  # numbers stay numbers


def test_drift_alerts_cannot_hold_a_formula(cli, tmp_path):
    from tests.test_drift import _tidy

    rng = np.random.default_rng(4)
    values = 0.05 + rng.normal(0, 0.008, size=(120, len(HOSTILE)))
    values[80:, :] += 0.03
    frame = _tidy("temp_share", values)
    frame["team"] = frame["team"].map({f"T{i:02d}": t for i, t in enumerate(HOSTILE)})
    frame["week"] = [weeks.label(w) for w in frame["week"]]
    frame.to_csv(tmp_path / "series.csv", index=False)
    cli("drift", "scan", tmp_path / "series.csv", "--out", tmp_path / "alerts.csv")
    cells = _cells(tmp_path / "alerts.csv")
    assert len(cells) > 1 and all(_safe(cell) for row in cells for cell in row), cells
    assert {row[0] for row in cells[1:]} <= {"'" + team for team in HOSTILE}
    float(cells[1][4])


def test_one_rule_neutralizes_text_cells_and_leaves_numbers_alone():
    from storage.csv_output import neutralize

    frame = pd.DataFrame({"text": ["=1+1", "-x", "plain", "-3.5", None, "@a", "\tx", "\rx",
                                   "+45 12 34 56"],
                          "number": [-3.5, 1.0, -2.0, 0.0, np.nan, 4.0, 5.0, 6.0, 7.0],
                          "count": np.arange(-4, 5)})
    out = neutralize(frame)
    texts = out["text"].tolist()
    assert pd.isna(texts.pop(4))
    assert texts == ["'=1+1", "'-x", "plain", "-3.5", "'@a", "'\tx", "'\rx", "'+45 12 34 56"]
    assert out["number"].equals(frame["number"]) and out["count"].equals(frame["count"])
    assert frame["text"].iat[0] == "=1+1"  # the caller's frame is left as it was


def test_the_demo_exports_go_through_the_same_rule(tmp_path):
    import datetime as dt

    from storage.demo_exports import DemoShape, generate

    exports = generate(dt.date(2025, 1, 6), DemoShape(teams=2, weeks=2))
    exports.staff.loc[0, "profession"] = "=cmd"
    exports.write(tmp_path)
    assert _cells(tmp_path / "staff.csv")[1][2] == "'=cmd"
