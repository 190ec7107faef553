"""Every team on one KPI in one week, best first; the team asked about stands out (colour, a
larger dot and a bold label), the median and the norm band are drawn across.

The teams are dots on a scale that fits their values, not bars from 0: teams a few points
apart (59,5 % and 63,4 %) must look apart, and a bar cut short of 0 would tell a false length.
Each team's value is written in a column right of the plot, where the median line never
crosses it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from charts import style
from metrics.benchmark import percentile

LABELLED_TEAMS = 30  # beyond this, rows are too thin to label on a phone
_VALUES = 1.0  # inches right of the plot for the values' column


def comparison_figure(ordered: Sequence[tuple[str, float]], team: str | None,
                      norm: tuple[float, float] | None, *, title: str,
                      format_value: Callable[[float], str], median_label: str,
                      norm_label: str) -> Figure:
    """``ordered``: (team code, value), best first; at least one."""
    codes = [code for code, _ in ordered]
    values = [value for _, value in ordered]
    labelled = len(ordered) <= LABELLED_TEAMS
    height = max(3.2, 1.4 + 0.3 * len(ordered)) if labelled else style.SIZE[1]
    width = style.SIZE[0]
    figure = style.figure(width, height, left=1.2 if labelled else 0.9)
    if labelled:
        figure.subplots_adjust(right=1 - _VALUES / width)
    median = percentile(sorted(values), 50)
    frame = style.Frame(figure, style.limits(values + [median] + list(norm or ()), pad=0.1,
                                             floor=0.0),
                        (len(ordered) - 0.5, -0.5))  # best at the top
    frame.title(title)
    keys = [style.Key(median_label, style.MEDIAN, width=2, style="--")]
    if norm:
        low, high = max(norm[0], frame.xlim[0]), min(norm[1], frame.xlim[1])
        frame.rect(low, frame.ylim[1], high - low, frame.ylim[0] - frame.ylim[1],
                   color=style.NORM, alpha=0.18, lw=0, zorder=0.5)
        keys.append(style.Key(norm_label, style.NORM, "band", alpha=0.18))
    frame.x_scale(format_value)
    others = [(value, row) for row, (code, value) in enumerate(ordered) if code != team]
    if labelled:
        frame.add(LineCollection([[(frame.xlim[0], row), (frame.xlim[1], row)]
                                  for row in range(len(ordered))], colors=style.GRID,
                                 linewidths=1, zorder=0.6, transform=frame.transform))
        for row, (code, value) in enumerate(ordered):
            mine = code == team
            look = {"color": style.TEAM if mine else style.TEXT,
                    "fontweight": "bold" if mine else "normal"}
            frame.text(frame.xlim[0], row, code, dx=-5, ha="right", va="center",
                       fontsize=style.FONT - 1, **look)
            frame.text(frame.xlim[1], row, format_value(value), dx=8, ha="left",
                       va="center", fontsize=style.FONT - 1, **look)
    if others:
        x, y = zip(*others)
        frame.line(x, y, lw=0, marker="o", markersize=9 if labelled else 4,
                   color=style.OTHERS, zorder=3)
    if team in codes:
        at = codes.index(team)
        frame.line([values[at]], [at], lw=0, marker="o", markersize=12, color=style.TEAM,
                   zorder=4)
        if not labelled:
            frame.text(frame.xlim[0], at, team, dx=-5, ha="right", va="center",
                       fontsize=style.FONT - 1, color=style.TEAM, fontweight="bold")
    # under the dots
    frame.line([median, median], frame.ylim, color=style.MEDIAN, lw=2, ls="--", zorder=2.5)
    frame.axis_lines()
    style.legend(figure, keys, columns=2)
    return figure
