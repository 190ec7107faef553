"""The back office's capacity charts: a team's needed, available and norm hours per
professional group over the past and coming weeks (small multiples), and every team's gap per
group in the coming weeks as a heat map. The weeks carry their year where it starts or
changes, and the hours their unit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from charts import style

COLUMNS = 2
PANEL = (3.2, 2.2)  # inches
_MARGIN = (0.6, 0.35, 0.55, 0.5)  # left, right, bottom and top of a panel, inches
NEEDED = style.MEDIAN  # orange: what the citizens need
AVAILABLE = style.TEAM  # blue: what the team has
SHORT = "#D55E00"  # vermillion
SURPLUS = "#0072B2"  # blue


@dataclass(frozen=True)
class GroupPanel:
    title: str
    needed: Sequence[float]
    needed_low: Sequence[float]
    needed_high: Sequence[float]
    available: Sequence[float]
    norm: Sequence[float]  # NaN: no norm that week


def team_figure(weeks: Sequence[int], coming: int, panels: Sequence[GroupPanel], *,
                heading: str, week_label: Callable[[int], str],
                format_hours: Callable[[float], str], legend: tuple[str, ...],
                unit: str = "hours a week") -> Figure:
    """``coming``: how many of ``weeks`` (the last) are forecast; ``legend``: the labels of
    needed, its 80 % interval, available, the norm and "forecast"; ``unit``: what the
    values are, written under the heading."""
    rows = max(1, -(-len(panels) // COLUMNS))
    width = COLUMNS * PANEL[0]
    height = rows * PANEL[1] + 0.7 + 2 * style.LEGEND_ROW
    figure = Figure(figsize=(width, height), dpi=style.DPI)
    figure.text(0.25 / width, 1 - 0.15 / height, heading, fontsize=style.TITLE - 2,
                color=style.TEXT, va="top")
    figure.text(0.25 / width, 1 - 0.5 / height, unit, fontsize=style.FONT - 2,
                color=style.AXIS, va="top")
    first_coming = len(weeks) - coming
    ticks = style.week_labels(weeks, sorted({0, first_coming, len(weeks) - 1}), week_label)
    for n, panel in enumerate(panels):
        row, column = divmod(n, COLUMNS)
        area = ((column * PANEL[0] + _MARGIN[0]) / width,
                1 - (0.7 + (row + 1) * PANEL[1] - _MARGIN[2]) / height,
                ((column + 1) * PANEL[0] - _MARGIN[1]) / width,
                1 - (0.7 + row * PANEL[1] + _MARGIN[3]) / height)
        _group(figure, area, weeks, coming, panel, ticks, format_hours)
    needed, interval, available, norm, forecast = legend[:5]
    style.legend(figure, [style.Key(needed, NEEDED, width=2.5),
                          style.Key(interval, NEEDED, "band", alpha=0.25),
                          style.Key(available, AVAILABLE, width=2.5),
                          style.Key(norm, style.NORM, width=2, style="--"),
                          style.Key(forecast, style.OTHERS, "band", alpha=0.15)], columns=3)
    return figure


def _group(figure: Figure, area, weeks: Sequence[int], coming: int, panel: GroupPanel,
           ticks: dict[int, str], format_hours: Callable[[float], str]) -> None:
    n = len(weeks)
    lines = [v for seq in (panel.needed, panel.available, panel.norm) for v in seq
             if np.isfinite(v)] or [0.0, 1.0]
    # a small group's interval can be wide: it may run off the top rather than flatten the lines
    ceiling = 1.5 * max(lines)
    values = lines + [min(v, ceiling) for v in panel.needed_high if np.isfinite(v)]
    frame = style.Frame(figure, (-0.5, n - 0.5), style.limits(values, floor=0.0), area=area)
    frame.text(frame.xlim[0], frame.ylim[1], panel.title, dy=4, va="bottom",
               fontsize=style.FONT - 3, color=style.TEXT)
    first_coming = n - coming
    frame.rect(first_coming - 0.5, frame.ylim[0], coming, frame.ylim[1] - frame.ylim[0],
               color=style.OTHERS, alpha=0.15, lw=0)
    x = np.arange(n)
    band = x >= first_coming - 1
    frame.band(x[band], np.maximum(np.asarray(panel.needed_low)[band], frame.ylim[0]),
               np.minimum(np.asarray(panel.needed_high)[band], frame.ylim[1]),
               color=NEEDED, alpha=0.25, lw=0)
    frame.line(x, panel.norm, color=style.NORM, lw=2, ls="--", drawstyle="steps-mid")
    frame.line(x, panel.available, color=AVAILABLE, lw=2.5)
    frame.line(x, panel.needed, color=NEEDED, lw=2.5)
    frame.axis_lines(left=False)
    low, high = frame.ylim
    frame.text(frame.xlim[0], low, format_hours(low), dx=-3, ha="right", va="bottom",
               fontsize=style.FONT - 4, color=style.AXIS)
    frame.text(frame.xlim[0], high, format_hours(high), dx=-3, ha="right", va="top",
               fontsize=style.FONT - 4, color=style.AXIS)
    frame.x_labels(ticks, ticks.__getitem__, fontsize=style.FONT - 3)


def gap_heat_map(weeks: Sequence[int], rows: Sequence[str], gaps: np.ndarray, *, heading: str,
                 week_label: Callable[[int], str], format_fte: Callable[[float], str],
                 legend: tuple[str, str]) -> Figure:
    """``gaps``: FTE per row (team and group) and coming week, below zero short; ``legend``:
    the labels of short and of spare."""
    n_rows, n_weeks = gaps.shape
    row_height = 0.32
    left = 2.0
    width = left + 0.62 * n_weeks + 0.3
    height = 0.75 + row_height * max(n_rows, 1) + 0.65 + style.LEGEND_ROW + 0.2
    figure = Figure(figsize=(width, height), dpi=style.DPI)
    area = (left / width, (0.65 + style.LEGEND_ROW + 0.2) / height, 1 - 0.3 / width,
            1 - 0.75 / height)
    frame = style.Frame(figure, (-0.5, n_weeks - 0.5), (max(n_rows, 1) - 0.5, -0.5), area=area)
    frame.title(heading)
    scale = max(1.0, float(np.nanmax(np.abs(gaps)))) if gaps.size else 1.0
    for r in range(n_rows):
        frame.text(-0.5, r, rows[r], dx=-6, ha="right", va="center", fontsize=style.FONT - 3,
                   color=style.TEXT)
        for c in range(n_weeks):
            value = gaps[r, c]
            color = SHORT if value < 0 else SURPLUS
            strength = min(1.0, abs(value) / scale)
            frame.rect(c - 0.5, r - 0.5, 1, 1, color=color, alpha=0.1 + 0.75 * strength,
                       lw=0.5, ec="white")
            frame.text(c, r, format_fte(value), ha="center", va="center",
                       fontsize=style.FONT - 5,
                       color="white" if strength > 0.55 else style.TEXT)
    ticks = style.week_labels(weeks, range(n_weeks), week_label)
    frame.x_labels(ticks, ticks.__getitem__)
    short, spare = legend
    style.legend(figure, [style.Key(short, SHORT, "band", alpha=0.8),
                          style.Key(spare, SURPLUS, "band", alpha=0.8)], columns=2)
    return figure
