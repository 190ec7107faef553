"""What the charts show, read off the figure: labels, scales and where marks sit (issue 20:
looked at as a nurse on a phone would)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

from charts import style
from metrics import weeks

LAST = weeks.week_index(dt.date(2026, 11, 23))  # 2026-W48


def percent(value: float) -> str:
    return f"{value * 100:.1f} %".replace(".", ",")


def texts(figure) -> list[str]:
    return [t.get_text() for t in figure.texts]


def _dashboard(week_list, panels):
    from charts.dashboard_grid import dashboard_figure

    return dashboard_figure(week_list, panels, heading="Ugens dashboard",
                            legend=("team HAD-C", "midterste halvdel", "norm", "ingen data"),
                            week_label=lambda w: f"uge {weeks.number(w)}", better_label="bedre")


def test_the_dashboard_names_its_weeks_with_the_year_where_it_changes():
    from charts.dashboard_grid import Panel

    week_list = list(range(LAST - 12 + 8, LAST + 1 + 8))  # 2026-W44 to 2027-W03 (W53)
    figure = _dashboard(week_list, [Panel("Sygefravær", {w: 0.08 for w in week_list}, {}, None,
                                          percent, "lower")])
    shown = texts(figure)
    assert "uge 44\n2026" in shown  # the first week, with its year
    assert "uge 3\n2027" in shown  # the last, in another year


def test_the_dashboard_says_which_way_is_better_and_only_where_one_is():
    from charts.dashboard_grid import Panel

    week_list = list(range(LAST - 12, LAST + 1))
    own = {w: 0.5 for w in week_list}
    figure = _dashboard(week_list, [Panel("Brugertid", own, {}, (0.6, 0.65), percent, "higher"),
                                    Panel("Sygefravær", own, {}, None, percent, "lower"),
                                    Panel("Borgere", own, {}, None, str, "neither")])
    hints = [t for t in texts(figure) if "bedre" in t]
    assert hints == ["↑ bedre", "↓ bedre"]


def _comparison(ordered, team="HAD-C", norm=None):
    from charts.team_comparison import comparison_figure

    return comparison_figure(ordered, team, norm, title="Brugertid, uge 48 2026",
                             format_value=percent, median_label="median", norm_label="norm")


CLOSE = [("HAD-V", 0.634), ("VOJ-S", 0.632), ("GRA", 0.614), ("HAD-C", 0.613),
         ("VOJ-N", 0.611), ("HAD-S", 0.595)]


def _dots(figure) -> dict[float, float]:
    """Data x -> display x of every dot drawn (a team's value)."""
    found = {}
    for artist in figure.artists:
        if getattr(artist, "get_marker", lambda: None)() == "o":
            for x, y in zip(artist.get_xdata(), artist.get_ydata()):
                found[round(float(x), 6)] = artist.get_transform().transform((x, y))[0]
    return found


def test_teams_a_few_points_apart_look_apart():
    figure = _comparison(CLOSE)
    assert percent(0.0) not in texts(figure)  # the scale does not run from 0
    dots = _dots(figure)
    left, _bottom, right, _top = figure.subplotpars.left, 0, figure.subplotpars.right, 0
    plot_width = (right - left) * figure.bbox.width
    # 59,5 % and 63,4 % lie more than half the plot apart, not a few pixels
    assert dots[0.634] - dots[0.595] > 0.5 * plot_width


def test_the_scale_still_starts_at_0_when_the_values_reach_down_to_it():
    figure = _comparison([("A", 0.2), ("HAD-C", 0.1), ("B", 0.0)])
    assert percent(0.0) in texts(figure)


def test_the_median_line_does_not_cross_a_label():
    figure = _comparison(CLOSE, norm=(0.60, 0.65))
    renderer = FigureCanvasAgg(figure).get_renderer()
    medians = [a for a in figure.artists if isinstance(a, Line2D) and a.get_color()
               == style.MEDIAN and a.get_linestyle() == "--" and len(a.get_xdata()) == 2
               and a.get_transform() is not figure.transFigure]
    assert len(medians) == 1
    (x0, y0), (x1, y1) = medians[0].get_transform().transform(
        np.column_stack([medians[0].get_xdata(), medians[0].get_ydata()]))
    assert x0 == x1
    low, high = sorted((y0, y1))
    labels = [t for t in figure.texts if t.get_text() in {c for c, _ in CLOSE}
              or t.get_text() in {percent(v) for _, v in CLOSE}]
    assert len(labels) == 2 * len(CLOSE)
    for label in labels:
        box = label.get_window_extent(renderer)
        crosses = box.x0 <= x0 <= box.x1 and box.y0 < high and box.y1 > low
        assert not crosses, label.get_text()


def test_many_teams_are_drawn_as_dots_with_the_team_named():
    ordered = [(f"T{i:04d}", 0.55 + i / 10000) for i in range(200)][::-1]
    figure = _comparison(ordered, team="T0100")
    assert "T0100" in texts(figure)
    assert len(_dots(figure)) == 200


def _trend(own):
    from charts.kpi_trend import trend_figure

    week_list = list(range(LAST - 25, LAST + 1))
    return trend_figure(week_list, own, {}, None, title="Sygefravær, team HAD-C",
                        format_value=percent, week_label=lambda w: f"uge {weeks.number(w)}",
                        legend=("team HAD-C", "andre", "midterste halvdel", "median", "norm",
                                "ingen data"))


def test_an_empty_trend_names_no_line_it_does_not_draw():
    empty = texts(_trend({}))
    assert "team HAD-C" not in empty
    assert "ingen data" in empty
    assert not any(t.endswith("%") for t in empty)  # no scale without values
    assert "team HAD-C" in texts(_trend({LAST: 0.08}))


def _capacity(week_list, coming, low):
    from charts.capacity import GroupPanel, team_figure

    n = len(week_list)
    needed = np.full(n, 30.0)
    panel = GroupPanel("Ergoterapeuter", needed, needed - low, needed + 8, np.full(n, 32.0),
                       np.full(n, 33.0))
    return team_figure(week_list, coming, [panel], heading="Kapacitet i team HAD-C",
                       week_label=lambda w: f"uge {weeks.number(w):02d}",
                       format_hours=lambda v: f"{v:.0f}",
                       legend=("behov", "80 %-interval", "til rådighed", "norm", "prognose"),
                       unit="timer pr. uge")


def test_capacity_says_its_unit_and_the_years_of_its_weeks():
    week_list = list(range(LAST - 12, LAST + 9))  # 2026-W36 to 2027-W03
    shown = texts(_capacity(week_list, 8, 5))
    assert "timer pr. uge" in shown
    assert "uge 36\n2026" in shown and "uge 03\n2027" in shown and "uge 49" in shown


def test_capacity_keeps_a_wide_interval_inside_its_panel():
    from matplotlib.patches import Polygon

    figure = _capacity(list(range(LAST - 12, LAST + 9)), 8, 40)  # an interval down to -10
    bands = [a for a in figure.artists if isinstance(a, Polygon)]
    assert bands
    bottom = min(line.get_transform().transform((0, min(line.get_ydata())))[1]
                 for line in figure.artists if getattr(line, "get_ydata", None)
                 and line.get_transform() is not figure.transFigure)
    for band in bands:
        lowest = band.get_transform().transform(band.get_xy())[:, 1].min()
        assert lowest >= bottom - 0.5


def test_the_heat_map_gives_the_year_where_the_weeks_cross_into_a_new_one():
    from charts.capacity import gap_heat_map

    week_list = list(range(LAST + 1, LAST + 9))  # 2026-W49 to 2027-W03
    figure = gap_heat_map(week_list, ["HAD-C spl"], np.zeros((1, 8)), heading="Forskel, årsværk",
                          week_label=lambda w: f"{weeks.number(w):02d}",
                          format_fte=lambda v: f"{v:.1f}", legend=("mangler", "i overskud"))
    shown = texts(figure)
    assert "49\n2026" in shown and "01\n2027" in shown and "02" in shown
