"""One KPI of a team over the weeks, against the other teams' middle half and median and the
norm band; weeks without data are marked, not drawn through."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from matplotlib.figure import Figure

from charts import style


def trend_figure(weeks: Sequence[int], own: Mapping[int, float | None],
                 bands: Mapping[int, tuple[float, float, float]],
                 norm: tuple[float, float] | None, *, title: str,
                 format_value: Callable[[float], str], week_label: Callable[[int], str],
                 legend: tuple[str, ...]) -> Figure:
    """``own``: week -> the team's value (absent: no data); ``bands``: week -> the other teams'
    (25th percentile, median, 75th percentile)."""
    team_label, _others, middle_label, median_label, norm_label, missing_label = legend[:6]
    figure = style.figure(legend_rows=2)
    axes = figure.subplots()
    style.tidy(axes)
    axes.set_title(title, loc="left", fontsize=style.TITLE, color=style.TEXT)
    x = list(range(len(weeks)))
    if norm:
        axes.axhspan(*norm, color=style.NORM, alpha=0.18, lw=0, label=norm_label)
    band_x = [i for i, w in zip(x, weeks) if w in bands]
    if band_x:
        low = [bands[weeks[i]][0] for i in band_x]
        mid = [bands[weeks[i]][1] for i in band_x]
        high = [bands[weeks[i]][2] for i in band_x]
        axes.fill_between(band_x, low, high, color=style.OTHERS, alpha=0.3, lw=0,
                          label=middle_label)
        axes.plot(band_x, mid, color=style.MEDIAN, lw=2, ls="--", label=median_label)
    values = [own.get(w) for w in weeks]
    # None breaks the line, so a missing week is a visible gap
    axes.plot(x, [float("nan") if v is None else v for v in values], color=style.TEAM, lw=3,
              marker="o", markersize=5, label=team_label)
    missing = [i for i, w in enumerate(weeks) if w not in own]
    for n, i in enumerate(missing):
        axes.axvspan(i - 0.5, i + 0.5, color=style.MISSING, alpha=0.15, lw=0, hatch="//",
                     label=missing_label if n == 0 else None)
    last = values[-1]
    if last is not None:
        axes.annotate(format_value(last), (x[-1], last), xytext=(6, 0),
                      textcoords="offset points", va="center", fontsize=style.FONT,
                      color=style.TEAM, fontweight="bold")
    step = max(1, len(weeks) // 4)
    ticks = list(range(len(weeks) - 1, -1, -step))[::-1]
    axes.set_xticks(ticks, [week_label(weeks[i]) for i in ticks])
    axes.set_xlim(-0.6, len(weeks) - 0.4 + 0.12 * len(weeks))
    style.value_axis(axes.yaxis, format_value)
    figure.legend(loc="lower center", ncols=3, frameon=False, fontsize=style.FONT - 2)
    return figure
