"""Every team on one KPI in one week, best first; the team asked about stands out (colour and
a bold label), the median and the norm band are drawn across."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from charts import style
from metrics.benchmark import percentile

LABELLED_TEAMS = 30  # beyond this, bars are too thin to label on a phone
_BAR = 0.75  # of a row


def comparison_figure(ordered: Sequence[tuple[str, float]], team: str | None,
                      norm: tuple[float, float] | None, *, title: str,
                      format_value: Callable[[float], str], median_label: str,
                      norm_label: str) -> Figure:
    """``ordered``: (team code, value), best first; at least one."""
    codes = [code for code, _ in ordered]
    values = [value for _, value in ordered]
    labelled = len(ordered) <= LABELLED_TEAMS
    height = max(3.2, 1.4 + 0.3 * len(ordered)) if labelled else style.SIZE[1]
    figure = style.figure(style.SIZE[0], height, left=1.2 if labelled else 0.9)
    low = min(0.0, min(values))
    high = max(values + ([norm[1]] if norm else []))
    frame = style.Frame(figure, (low, high * 1.18 if high > 0 else 1.0),
                        (len(ordered) - 0.5, -0.5))  # best at the top
    frame.title(title)
    keys = [style.Key(median_label, style.MEDIAN, width=2, style="--")]
    if norm:
        frame.rect(norm[0], frame.ylim[1], norm[1] - norm[0], frame.ylim[0] - frame.ylim[1],
                   color=style.NORM, alpha=0.18, lw=0, zorder=0.5)
        keys.append(style.Key(norm_label, style.NORM, "band", alpha=0.18))
    frame.x_scale(format_value)
    if labelled:
        frame.add(PolyCollection(
            [_bar(row, value) for row, value in enumerate(values)],
            facecolors=[style.TEAM if code == team else style.OTHERS for code in codes],
            linewidths=0, transform=frame.transform))
        for row, (code, value) in enumerate(ordered):
            mine = code == team
            frame.text(frame.xlim[0], row, code, dx=-5, ha="right", va="center",
                       fontsize=style.FONT - 1, color=style.TEAM if mine else style.TEXT,
                       fontweight="bold" if mine else "normal")
            frame.text(value, row, format_value(value), dx=4, va="center",
                       fontsize=style.FONT - 3, color=style.TEXT)
    else:  # one shape for the many teams, one bar for the team: fast to draw
        steps = [(0, -0.5)] + [point for row, value in enumerate(values)
                               for point in ((value, row - 0.5), (value, row + 0.5))]
        frame.add(PolyCollection([steps + [(0, len(values) - 0.5)]], facecolors=style.OTHERS,
                                 linewidths=0, transform=frame.transform))
        if team in codes:
            at = codes.index(team)
            frame.add(PolyCollection([_bar(at, values[at], max(1.0, len(codes) / 120))],
                                     facecolors=style.TEAM, linewidths=0,
                                     transform=frame.transform))
            frame.text(frame.xlim[0], at, team, dx=-5, ha="right", va="center",
                       fontsize=style.FONT - 1, color=style.TEAM, fontweight="bold")
    median = percentile(sorted(values), 50)
    # over the bars, under the labels
    frame.line([median, median], frame.ylim, color=style.MEDIAN, lw=2, ls="--", zorder=2.5)
    frame.axis_lines()
    style.legend(figure, keys, columns=2)
    return figure


def _bar(row: float, value: float, height: float = _BAR) -> list[tuple[float, float]]:
    top, bottom = row - height / 2, row + height / 2
    return [(0, top), (value, top), (value, bottom), (0, bottom)]
