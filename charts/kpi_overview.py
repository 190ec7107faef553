"""Where a team stands among the other teams on every KPI in one week: one row per KPI with
the others' range (thin line), their middle half (thick bar), their median (tick), the norm
band where there is one, and the team's own value (a large dot with its value written).

Every row has its own scale (percent, citizens, carers), so each row is placed from 0 to 1
between its lowest and highest point, and all rows share one frame: a few collections draw far
faster than a subplot per KPI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from charts import style
from metrics.benchmark import percentile

ROW = 0.8  # inches per KPI row
_EDGE = 0.04  # room at both ends of a row, in row units


def overview_figure(values: Mapping[str, Mapping[str, float | None]], team: str, *,
                    titles: Mapping[str, str], formats: Mapping[str, Callable[[float], str]],
                    norms: Mapping[str, tuple[float, float] | None], heading: str,
                    legend: tuple[str, ...]) -> Figure:
    """``values``: KPI key -> team code -> value, in the order the rows are drawn."""
    keys = list(values)
    height = 1.3 + ROW * len(keys)
    figure = style.figure(style.SIZE[0], height, legend_rows=2, left=0.3)
    figure.subplots_adjust(top=1 - 0.55 / height)
    frame = style.Frame(figure, (0, 1), (len(keys) - 0.5, -0.6))  # the first KPI on top
    frame.title(heading)
    ranges, middles, medians, dots = [], [], [], []
    for row, key in enumerate(keys):
        own = values[key].get(team)
        others = sorted(v for code, v in values[key].items() if code != team and v is not None)
        norm = norms.get(key)
        place = _placement(others + ([own] if own is not None else []) + list(norm or ()))
        frame.text(0, row - 0.3, titles[key], fontsize=style.FONT, color=style.TEXT)
        if norm:
            frame.rect(place(norm[0]), row - 0.28, place(norm[1]) - place(norm[0]), 0.56,
                       color=style.NORM, alpha=0.18, lw=0)
        if others:
            ranges.append((place(others[0]), place(others[-1]), row))
            middles.append((place(percentile(others, 25)), place(percentile(others, 75)), row))
            medians.append((place(percentile(others, 50)), row))
        if own is not None:
            dots.append((place(own), row))
            frame.text(place(own), row, formats[key](own), dy=-11, ha="center", va="top",
                       fontsize=style.FONT, color=style.TEAM, fontweight="bold")
        else:
            frame.text(0.5, row, "–", ha="center", va="center", fontsize=style.TITLE,
                       fontweight="bold", color=style.MISSING, zorder=6,
                       bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    frame.add(LineCollection([[(0, row), (1, row)] for row in range(len(keys))],
                             colors=style.GRID, linewidths=1, zorder=0,
                             transform=frame.transform))
    for segments, width in ((ranges, 2), (middles, 9)):
        frame.add(LineCollection([[(x0, row), (x1, row)] for x0, x1, row in segments],
                                 colors=style.OTHERS, linewidths=width, capstyle="butt",
                                 transform=frame.transform))
    frame.add(LineCollection([[(x, row - 0.2), (x, row + 0.2)] for x, row in medians],
                             colors=style.MEDIAN, linewidths=3, transform=frame.transform))
    if dots:
        x, y = zip(*dots)
        frame.line(x, y, marker="o", lw=0, color=style.TEAM, markersize=13, zorder=5)
    team_label, others_label, middle_label, median_label, norm_label = legend[:5]
    style.legend(figure, [
        style.Key(team_label, style.TEAM, "dot"),
        style.Key(others_label, style.OTHERS, width=2),
        style.Key(middle_label, style.OTHERS, "thick", width=3),
        style.Key(median_label, style.MEDIAN, width=3),
        style.Key(norm_label, style.NORM, "band", alpha=0.18),
    ])
    return figure


def _placement(points: list[float]) -> Callable[[float], float]:
    """From a row's values to 0..1 across the chart, its lowest and highest point at the ends."""
    if not points:
        return lambda value: 0.5
    low, high = min(points), max(points)
    span = high - low
    if span == 0:
        return lambda value: 0.5
    return lambda value: _EDGE + (1 - 2 * _EDGE) * (value - low) / span
