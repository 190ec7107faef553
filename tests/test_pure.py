"""Pure parts: weeks, personal numbers, benchmarks, catalogs."""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import pytest

from commands.i18n import LANGUAGES, catalog
from commands.kpi_words import WeekAsked
from metrics import weeks
from metrics.benchmark import benchmark, percentile
from storage.national_ids import find_national_id


def test_iso_weeks_across_a_53_week_year():
    assert weeks.label(weeks.week_index(dt.date(2026, 12, 31))) == "2026-W53"
    assert weeks.label(weeks.week_index(dt.date(2027, 1, 3))) == "2026-W53"
    assert weeks.parse("2027-W01") - weeks.parse("2026-W53") == 1
    assert weeks.monday(weeks.parse("2026w47")) == dt.date(2026, 11, 16)
    assert weeks.last_complete(dt.date(2026, 11, 22)) == weeks.parse("2026-W46")
    with pytest.raises(weeks.WeekError):
        weeks.parse("2025-W53")
    with pytest.raises(weeks.WeekError):
        weeks.parse("week 12")


@pytest.mark.parametrize("text", [
    "010190-1234", "0101901234", "ring om 010190 1234", "01019012345", "410190 12345",
    "290200-1234",  # 29 February 2000
    "311299-0000",  # modulus-11 is not checked
])
def test_personal_numbers_are_found(text):
    assert find_national_id(text)


@pytest.mark.parametrize("text", [
    "B-10442", "B-000004", "tlf. 22 33 44 55", "+45 22334455", "dato 01.02.2026",
    "320190-1234", "011390-1234", "290201-1234", "12345678901", "0101901234567",
])
def test_other_numbers_are_not(text):
    assert find_national_id(text) is None


def test_percentile_is_numpys_linear_interpolation():
    rng = np.random.default_rng(1)
    for n in range(1, 30):
        values = sorted(rng.normal(size=n).tolist())
        for q in (25, 50, 75):
            assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-15)


def test_rank_shares_the_best_rank_on_ties_and_ignores_nulls():
    values = {"a": 0.5, "b": 0.7, "c": 0.7, "d": None, "e": 0.4}
    assert benchmark(values, "b", "higher").rank == 1
    assert benchmark(values, "a", "higher").rank == 3
    assert benchmark(values, "a", "lower").rank == 2
    b = benchmark(values, "e", "neither")
    assert b.rank is None and b.of == 4 and b.median == pytest.approx(0.7)  # of .5 .7 .7
    alone = benchmark({"a": 1.0, "b": None}, "a", "lower")
    assert alone.median is None and alone.rank == 1 and alone.of == 1


def test_every_translatable_text_is_in_every_catalog():
    from babel.messages.extract import extract_from_dir

    root = pathlib.Path(__file__).resolve().parents[1]
    found = set()
    for folder in ("commands", "bot"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                root / folder, keywords={"N_": None, "tr": None, "gettext": None, "_": None, "UsageError": None}):
            found.add(message)
    # The data layer's refusals of input are translated where they are shown.
    for _file, _line, message, _comments, _context in extract_from_dir(
            root / "storage", keywords={"GoalInputError": (2,)}):
        found.add(message)
    assert len(found) > 10
    for language in LANGUAGES:
        if language == "en":
            continue
        missing = found - set(catalog(language))
        assert not missing, f"{language} catalog misses {sorted(missing)}"


def test_duplicate_keys_name_the_first_line_across_chunks():
    import pandas as pd

    from storage.importers.loading import DuplicateKeys

    rng = np.random.default_rng(7)
    ids = [f"V{n}" for n in rng.integers(0, 400, size=1000)]
    finder = DuplicateKeys("visits")
    first_line: dict[str, int] = {}
    for start in range(0, 1000, 137):  # uneven chunks
        part = ids[start:start + 137]
        lines = list(range(start + 2, start + 2 + len(part)))
        got = finder.check(pd.DataFrame({"visit_id": part, "line": lines}))
        expected = []
        for key, line in zip(part, lines):
            expected.append(first_line.get(key, 0))
            first_line.setdefault(key, line)
        assert got.tolist() == expected


@pytest.mark.parametrize("text, expected", [
    ("", {}),
    ("sygefravær", {"kpi": "sick_leave"}),
    ("Sykefravaer HAD-C", {"kpi": "sick_leave", "words": ("HAD-C",)}),
    ("sick leave uge 45 share", {"kpi": "sick_leave", "week": WeekAsked(number=45),
                                 "share": True}),
    ("brugertid alle 2025-W40", {"kpi": "productivity", "all_teams": True,
                                 "week": WeekAsked(index=weeks.parse("2025-W40"))}),
    ("timer pr. borger w7", {"kpi": "hours_per_client", "week": WeekAsked(number=7)}),
    ("W49 2026 sygefravar", {"kpi": "sick_leave",
                             "week": WeekAsked(index=weeks.parse("2026-W49"))}),
])
def test_kpi_command_words(text, expected):
    from commands.kpi import KpiArgs, parse

    assert parse(text) == KpiArgs(**expected)


@pytest.mark.parametrize("text, message", [
    ("sick vikarer", "Name one key figure only."),
    ("uge 45 uge 46", "Name one week only."),
    ("uge 60", "{word} is not a week number (1 to 53)"),
    ("2026-W54", "{year} has no week {week}; it has {count} weeks."),
    ("uge 53 2025", "{year} has no week {week}; it has {count} weeks."),
])
def test_kpi_command_mistakes(text, message):
    from commands.kpi import parse
    from commands.reply import UsageError

    with pytest.raises(UsageError) as raised:
        parse(text)
    assert raised.value.message == message


@pytest.mark.parametrize("locale, language", [
    ("da-DK", "da"), ("nb-NO", "nb"), ("no-NO", "nb"), ("nn-NO", "nb"), ("en-GB", "en"),
    ("en-US", "en"), ("de-DE", None), (None, None)])
def test_slack_locales_choose_a_language(locale, language):
    from commands.dispatch import language_of_locale

    assert language_of_locale(locale) == language


def test_trend_chart_marks_missing_weeks_and_draws_a_png():
    from charts.kpi_trend import trend_figure
    from charts.render import to_png

    week_list = list(range(10))
    own = {w: 0.1 for w in week_list if w not in (3, 4)}
    figure = trend_figure(week_list, own, {w: (0.05, 0.08, 0.12) for w in week_list}, None,
                          title="t", format_value=str, week_label=str,
                          legend=("team", "others", "middle", "median", "norm", "no data"))
    hatched = [p for p in figure.artists if getattr(p, "get_hatch", lambda: None)() == "//"]
    assert len(hatched) == 2 + 1  # one mark per missing week, and one in the legend
    assert to_png(figure).startswith(b"\x89PNG")


def _naive_visit_components(rows: list[tuple]) -> dict[tuple[int, int], tuple]:
    """The contract's definitions, one team-week at a time; rows are
    (team, week, citizen, employee, visits, minutes)."""
    out = {}
    for team, week in {(r[0], r[1]) for r in rows} | {(r[0], r[1] + 1) for r in rows}:
        own = [r for r in rows if r[0] == team and r[1] == week]
        window = [r for r in rows if r[0] == team and r[1] in (week - 1, week)]
        carers, citizens = 0, 0
        for citizen in {r[2] for r in window}:
            mine = [r for r in window if r[2] == citizen]
            if sum(r[4] for r in mine) >= 2:
                carers += len({r[3] for r in mine})
                citizens += 1
        out[team, week] = (sum(r[5] for r in own), len({r[2] for r in own if r[4] > 0}),
                           carers, citizens)
    return out


def test_visit_components_follow_the_contract_on_random_visits():
    import pandas as pd

    from metrics.visit_components import VISIT_COMPONENTS, visit_components

    rng = np.random.default_rng(11)
    rows = [(int(rng.integers(1, 4)), int(rng.choice([100, 101, 102, 104, 105])),
             f"B-{rng.integers(0, 6)}", int(rng.integers(0, 4)), int(rng.integers(1, 3)),
             int(rng.integers(5, 60))) for _ in range(400)]
    frame = pd.DataFrame(rows, columns=["team_id", "week", "citizen_ref", "employee_id",
                                        "visits", "minutes"])
    got = visit_components(frame.sample(frac=1, random_state=3))  # any order
    expected = _naive_visit_components(rows)
    for team, week, *values in got[["team_id", "week", *VISIT_COMPONENTS]].itertuples(
            index=False):
        assert tuple(values) == expected.get((team, week), (0, 0, 0, 0)), (team, week)
    assert {(t, w) for t, w in expected} <= set(zip(got["team_id"], got["week"]))


def test_continuity_counts_a_carer_of_both_weeks_once():
    import pandas as pd

    from metrics.visit_components import visit_components

    frame = pd.DataFrame({"team_id": [1, 1, 1], "week": [10, 11, 11],
                          "citizen_ref": ["B-1", "B-1", "B-1"], "employee_id": ["E1", "E1", "E2"],
                          "visits": [1, 1, 1], "minutes": [30, 20, 10]})
    got = visit_components(frame).set_index("week")
    assert got.loc[10, "continuity_citizens"] == 0  # one visit only in weeks 9 and 10
    assert got.loc[11, ["continuity_carers", "continuity_citizens"]].tolist() == [2, 1]
    week_after = got.loc[12, ["continuity_carers", "continuity_citizens", "clients"]]
    assert week_after.tolist() == [2, 1, 0]
    assert got.loc[11, "client_minutes"] == 30


def test_charts_are_drawn_on_worker_processes_and_a_dead_worker_is_replaced():
    import multiprocessing
    import os
    import signal

    from bot.drawing import Drawing
    from charts.kpi_trend import trend_figure
    from charts.render import to_png

    def figure():
        return trend_figure([1, 2, 3], {1: 0.1, 3: 0.2}, {}, None, title="t", format_value=str,
                            week_label=str, legend=("a", "b", "c", "d", "e", "f"))

    drawing = Drawing(1)
    try:
        png = drawing.png(figure())
        assert png.startswith(b"\x89PNG") and png == to_png(figure())
        workers = multiprocessing.active_children()
        assert workers, "drawn on a worker process"
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            worker.join()
        assert drawing.png(figure()).startswith(b"\x89PNG")  # drawn all the same
        assert drawing.png(figure()) == png  # and on new workers after that
    finally:
        drawing.close(timeout=0)
    assert not multiprocessing.active_children()  # every drawing process ended


def test_percentiles_without_a_teams_own_value_match_a_list_without_it():
    from metrics.benchmark import percentile_without

    rng = np.random.default_rng(5)
    for size in (2, 3, 7, 50):
        values = sorted(rng.choice([0.1, 0.2, 0.25, 0.3, 0.5], size=size).tolist())
        for own in set(values):
            others = list(values)
            others.remove(own)
            for q in (0, 25, 50, 75, 100):
                assert percentile_without(values, own, q) == pytest.approx(
                    float(np.percentile(others, q)), abs=1e-12)
        assert percentile_without(values, None, 50) == pytest.approx(np.percentile(values, 50))
