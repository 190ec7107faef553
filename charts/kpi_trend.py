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
    values = [own.get(w) for w in weeks]
    shown = [v for v in values if v is not None] + list(norm or ())
    shown += [v for w in weeks if w in bands for v in (bands[w][0], bands[w][2])]
    frame = style.Frame(figure, (-0.6, len(weeks) - 0.4 + 0.12 * len(weeks)),
                        style.limits(shown or [0.0, 1.0], floor=0.0))
    frame.title(title)
    # an empty trend names no line it does not draw, and has no scale to read
    keys = [style.Key(team_label, style.TEAM, width=3)] if any(
        v is not None for v in values) else []
    x = list(range(len(weeks)))
    band_x = [i for i, w in zip(x, weeks) if w in bands]
    if band_x:
        low, mid, high = zip(*(bands[weeks[i]] for i in band_x))
        frame.band(band_x, low, high, color=style.OTHERS, alpha=0.3, lw=0)
        frame.line(band_x, mid, color=style.MEDIAN, lw=2, ls="--")
        keys += [style.Key(middle_label, style.OTHERS, "band", alpha=0.3),
                 style.Key(median_label, style.MEDIAN, width=2, style="--")]
    if norm:
        frame.rect(frame.xlim[0], norm[0], frame.xlim[1] - frame.xlim[0], norm[1] - norm[0],
                   color=style.NORM, alpha=0.18, lw=0)
        keys.append(style.Key(norm_label, style.NORM, "band", alpha=0.18))
    missing = [i for i, w in enumerate(weeks) if w not in own]
    frame.no_data(missing)
    if missing:
        keys.append(style.Key(missing_label, style.MISSING, "hatch", alpha=0.15))
    if shown:
        frame.y_scale(format_value)
    frame.axis_lines()
    # None breaks the line, so a missing week is a visible gap
    frame.line(x, [float("nan") if v is None else v for v in values], color=style.TEAM, lw=3,
               marker="o", markersize=5, zorder=3)
    if values[-1] is not None:
        frame.text(x[-1], values[-1], format_value(values[-1]), dx=6, va="center",
                   fontsize=style.FONT, color=style.TEAM, fontweight="bold")
    step = max(1, len(weeks) // 4)
    ticks = list(range(len(weeks) - 1, -1, -step))[::-1]
    texts = style.week_labels(weeks, ticks, week_label)
    frame.x_labels(ticks, texts.__getitem__)
    style.legend(figure, keys)
    return figure
