"""Where a team stands among the other teams on every KPI in one week: one row per KPI with
the others' range (thin line), their middle half (thick bar), their median (tick), the norm
band where there is one, and the team's own value (a large dot with its value written)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from matplotlib.figure import Figure

from charts import style
from metrics.benchmark import percentile


def overview_figure(values: Mapping[str, Mapping[str, float | None]], team: str, *,
                    titles: Mapping[str, str], formats: Mapping[str, Callable[[float], str]],
                    norms: Mapping[str, tuple[float, float] | None], heading: str,
                    legend: tuple[str, ...]) -> Figure:
    """``values``: KPI key -> team code -> value, in the order the rows are drawn."""
    keys = list(values)
    height = 1.3 + 1.15 * len(keys)
    figure = style.figure(style.SIZE[0], height, legend_rows=2, left=0.3)
    figure.subplots_adjust(hspace=1.1, top=1 - 0.75 / height)
    figure.suptitle(heading, fontsize=style.TITLE, color=style.TEXT, y=1 - 0.1 / height,
                    va="top")
    rows = figure.subplots(len(keys), 1, squeeze=False)[:, 0]
    for axes, key in zip(rows, keys):
        own = values[key].get(team)
        others = sorted(v for code, v in values[key].items() if code != team and v is not None)
        style.tidy(axes)
        axes.spines["left"].set_visible(False)
        axes.set_yticks([])
        axes.set_title(titles[key], loc="left", fontsize=style.FONT, color=style.TEXT, pad=2)
        points = list(others) + ([own] if own is not None else [])
        norm = norms.get(key)
        if norm:
            axes.axvspan(*norm, color=style.NORM, alpha=0.18, lw=0)
            points += list(norm)
        if others:
            axes.plot([others[0], others[-1]], [0, 0], color=style.OTHERS, lw=2)
            axes.plot([percentile(others, 25), percentile(others, 75)], [0, 0],
                      color=style.OTHERS, lw=9, solid_capstyle="butt")
            axes.plot([percentile(others, 50)] * 2, [-0.35, 0.35], color=style.MEDIAN, lw=3)
        if own is not None:
            axes.plot([own], [0], "o", color=style.TEAM, markersize=13, zorder=5)
            axes.annotate(formats[key](own), (own, 0), xytext=(0, 11),
                          textcoords="offset points", ha="center", fontsize=style.FONT,
                          color=style.TEAM, fontweight="bold")
        else:
            axes.text(0.5, 0.0, "–", transform=axes.transAxes, ha="center", va="center",
                      fontsize=style.TITLE, color=style.MISSING)
        if points:
            low, high = min(points), max(points)
            pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
            axes.set_xlim(low - pad, high + pad)
        axes.set_ylim(-0.8, 1.2)
        style.value_axis(axes.xaxis, formats[key], ticks=4)
    _legend(figure, legend)
    return figure


def _legend(figure: Figure, labels: tuple[str, ...]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    team, others, middle, median, norm = labels[:5]
    handles = [
        Line2D([], [], marker="o", color=style.TEAM, lw=0, markersize=10, label=team),
        Line2D([], [], color=style.OTHERS, lw=2, label=others),
        Line2D([], [], color=style.OTHERS, lw=8, label=middle),
        Line2D([], [], color=style.MEDIAN, lw=3, label=median),
        Patch(color=style.NORM, alpha=0.18, label=norm),
    ]
    figure.legend(handles=handles, loc="lower center", ncols=3, frameon=False,
                  fontsize=style.FONT - 2)
