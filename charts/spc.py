"""A statistical process control chart of one team's KPI, in the style of NHS England's
"Making Data Count": the weeks as a grey line with points, the usual level as a solid line,
the limits of common-cause variation as dashed lines, and the weeks since the change began
in orange (special cause of concern); the week of the alert is ringed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.figure import Figure

from charts import style

CONCERN = "#ED8B00"  # Making Data Count's orange: special cause of concern
COMMON = "#7F7F7F"  # grey: common-cause variation


def spc_figure(weeks: Sequence[int], values: Sequence[float | None], *, usual: float,
               spread: float, start_week: int, alert_week: int, title: str,
               format_value: Callable[[float], str], week_label: Callable[[int], str],
               legend: tuple[str, str, str, str]) -> Figure:
    """``values`` per week (None: no value); the limits are ``usual`` ± 3 ``spread``."""
    weeks_label, usual_label, limits_label, change_label = legend
    figure = style.figure(legend_rows=2)
    lower, upper = usual - 3 * spread, usual + 3 * spread
    shown = [v for v in values if v is not None] + [lower, upper]
    frame = style.Frame(figure, (-0.6, len(weeks) - 0.4 + 0.12 * len(weeks)),
                        style.limits(shown, floor=0.0 if min(shown) >= 0 else None))
    frame.title(title)
    x = list(range(len(weeks)))
    frame.line([x[0], x[-1]], [usual, usual], color=style.TEXT, lw=1.6)
    for limit in (lower, upper):
        frame.line([x[0], x[-1]], [limit, limit], color=style.TEXT, lw=1.2, ls="--")
    frame.y_scale(format_value)
    frame.axis_lines()
    points = [float("nan") if v is None else v for v in values]
    frame.line(x, points, color=COMMON, lw=1.5, marker="o", markersize=4, zorder=3)
    changed = [i for i, w in enumerate(weeks) if start_week <= w <= alert_week
               and values[i] is not None]
    if changed:
        frame.line(changed, [points[i] for i in changed], color=CONCERN, lw=0, marker="o",
                   markersize=6, zorder=4)
    if alert_week in weeks and values[list(weeks).index(alert_week)] is not None:
        i = list(weeks).index(alert_week)
        frame.line([i], [points[i]], color=CONCERN, lw=0, marker="o", markersize=14,
                   markerfacecolor="none", markeredgewidth=2, zorder=5)
        frame.text(i, points[i], format_value(points[i]), dx=10, va="center",
                   fontsize=style.FONT, color=CONCERN, fontweight="bold")
    step = max(1, len(weeks) // 4)
    ticks = list(range(len(weeks) - 1, -1, -step))[::-1]
    frame.x_labels(ticks, lambda i: week_label(weeks[i]))
    style.legend(figure, [style.Key(weeks_label, COMMON, width=2),
                          style.Key(usual_label, style.TEXT, width=2),
                          style.Key(limits_label, style.TEXT, width=1.5, style="--"),
                          style.Key(change_label, CONCERN, "dot")], columns=2)
    return figure
