"""Every team on one KPI in one week, best first; the team asked about stands out (colour and
a bold label), the median and the norm band are drawn across."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.figure import Figure

from charts import style
from metrics.benchmark import percentile

LABELLED_TEAMS = 30  # beyond this, bars are too thin to label on a phone


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
    axes = figure.subplots()
    style.tidy(axes)
    axes.set_title(title, loc="left", fontsize=style.TITLE, color=style.TEXT)
    colours = [style.TEAM if code == team else style.OTHERS for code in codes]
    positions = list(range(len(ordered)))
    if norm:
        axes.axvspan(*norm, color=style.NORM, alpha=0.18, lw=0, label=norm_label)
    if labelled:
        axes.barh(positions, values, color=colours, height=0.75)
    else:  # one shape for the many teams, one bar for the team: fast to draw
        axes.fill_betweenx(positions, 0, values, step="mid", color=style.OTHERS, lw=0)
        if team in codes:
            at = codes.index(team)
            axes.barh([at], [values[at]], color=style.TEAM, height=max(1.0, len(codes) / 120))
    axes.axvline(percentile(sorted(values), 50), color=style.MEDIAN, lw=2, ls="--",
                 label=median_label)
    axes.invert_yaxis()  # best at the top
    if labelled:
        axes.set_yticks(positions, codes)
        for tick, code in zip(axes.get_yticklabels(), codes):
            if code == team:
                tick.set_fontweight("bold")
                tick.set_color(style.TEAM)
        for position, value in zip(positions, values):
            axes.annotate(format_value(value), (value, position), xytext=(4, 0),
                          textcoords="offset points", va="center", fontsize=style.FONT - 3)
    else:
        axes.set_yticks([positions[codes.index(team)]] if team in codes else [],
                        [team] if team in codes else [])
    low = min(0.0, min(values))
    high = max(values + ([norm[1]] if norm else []))
    axes.set_xlim(low, high * 1.18 if high > 0 else 1.0)
    style.value_axis(axes.xaxis, format_value)
    figure.legend(loc="lower center", ncols=2, frameon=False, fontsize=style.FONT - 2)
    return figure
