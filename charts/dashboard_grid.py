"""A team's weekly dashboard as one image: a small panel per KPI over the last weeks, each with
the team's line, the other teams' middle half and the norm band, and the week's value written
large; weeks without data are gaps, never zeros. Each panel names its first and last week
(with the year), and says which way is better where one is ("↓ better" for sick
leave), so a panel read alone on a phone is not misread."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from charts import style
from metrics.weeks import number as week_number

COLUMNS = 2
PANEL = (3.2, 2.1)  # inches
_MARGIN = (0.65, 0.9, 0.5, 0.5)  # left, right, bottom and top of a panel, inches


@dataclass(frozen=True)
class Panel:
    title: str
    own: Mapping[int, float | None]  # week -> the team's value; absent: no data
    bands: Mapping[int, tuple[float, float]]  # week -> the other teams' 25th and 75th percentile
    norm: tuple[float, float] | None
    format_value: Callable[[float], str]
    better: str = "neither"  # "higher", "lower" or "neither": which way the KPI improves


def dashboard_figure(weeks: Sequence[int], panels: Sequence[Panel], *, heading: str,
                     legend: tuple[str, ...], week_label: Callable[[int], str] | None = None,
                     better_label: str = "better") -> Figure:
    """``legend``: the labels of the team's line, the others' middle half, the norm and a week
    without data; ``week_label``: a week index as people say it ("uge 45"; the ISO week
    number by default); ``better_label``: the word beside a panel's ↑ or ↓."""
    label = week_label or (lambda w: f"W{week_number(w):02d}")
    # the first and the last week: every label is a text to draw, in every panel
    ticks = style.week_labels(weeks, sorted({0, len(weeks) - 1}), label)
    rows = -(-len(panels) // COLUMNS)
    width = COLUMNS * PANEL[0]
    height = rows * PANEL[1] + 0.7 + 2 * style.LEGEND_ROW
    figure = Figure(figsize=(width, height), dpi=style.DPI)
    figure.text(0.25 / width, 1 - 0.15 / height, heading, fontsize=style.TITLE, color=style.TEXT,
                va="top")
    for n, panel in enumerate(panels):
        row, column = divmod(n, COLUMNS)
        left = (column * PANEL[0] + _MARGIN[0]) / width
        right = ((column + 1) * PANEL[0] - _MARGIN[1]) / width
        top = 1 - (0.7 + row * PANEL[1] + _MARGIN[3]) / height
        bottom = 1 - (0.7 + (row + 1) * PANEL[1] - _MARGIN[2]) / height
        _draw_panel(figure, (left, bottom, right, top), weeks, panel, ticks, better_label)
    team, middle, norm, missing = legend[:4]
    style.legend(figure, [style.Key(team, style.TEAM, width=3),
                          style.Key(middle, style.OTHERS, "band", alpha=0.3),
                          style.Key(norm, style.NORM, "band", alpha=0.18),
                          style.Key(missing, style.MISSING, "hatch", alpha=0.15)], columns=2)
    return figure


def _draw_panel(figure: Figure, area: tuple[float, float, float, float], weeks: Sequence[int],
                panel: Panel, ticks: Mapping[int, str], better_label: str) -> None:
    values = [panel.own.get(w) for w in weeks]
    shown = [v for v in values if v is not None] + list(panel.norm or ())
    shown += [v for w in weeks if w in panel.bands for v in panel.bands[w]]
    frame = style.Frame(figure, (-0.5, len(weeks) - 0.5),
                        style.limits(shown or [0.0, 1.0], floor=0.0), area=area)
    frame.text(frame.xlim[0], frame.ylim[1], panel.title, dx=-_MARGIN[0] * 72 + 12, dy=4,
               va="bottom", fontsize=style.FONT - 1, color=style.TEXT)  # from the panel's edge
    x = range(len(weeks))
    band_x = [i for i, w in zip(x, weeks) if w in panel.bands]
    if band_x:
        low, high = zip(*(panel.bands[weeks[i]] for i in band_x))
        frame.band(band_x, low, high, color=style.OTHERS, alpha=0.3, lw=0)
    if panel.norm:
        frame.rect(frame.xlim[0], panel.norm[0], frame.xlim[1] - frame.xlim[0],
                   panel.norm[1] - panel.norm[0], color=style.NORM, alpha=0.18, lw=0)
    frame.no_data([i for i, w in enumerate(weeks) if w not in panel.own])
    frame.axis_lines(left=False)
    low, high = frame.ylim
    frame.text(frame.xlim[0], low, panel.format_value(low), dx=-3, ha="right", va="bottom",
               fontsize=style.FONT - 4, color=style.AXIS)
    frame.text(frame.xlim[0], high, panel.format_value(high), dx=-3, ha="right", va="top",
               fontsize=style.FONT - 4, color=style.AXIS)
    frame.line(list(x), [float("nan") if v is None else v for v in values], color=style.TEAM,
               lw=2.5, marker="o", markersize=3, zorder=3)
    frame.x_labels(ticks, ticks.__getitem__, fontsize=style.FONT - 4)
    last = values[-1]
    if last is None:  # the week itself has no value
        frame.text(frame.xlim[1], (low + high) / 2, "–", dx=6, va="center",
                   fontsize=style.FONT, fontweight="bold", color=style.MISSING)
    else:
        frame.text(frame.xlim[1], last, panel.format_value(last), dx=6, va="center",
                   fontsize=style.FONT, fontweight="bold", color=style.TEAM)
    if panel.better in ("higher", "lower"):  # at the end of the scale away from the value
        arrow = "↑" if panel.better == "higher" else "↓"
        on_top = last is None or last < (low + high) / 2
        frame.text(frame.xlim[1], high if on_top else low, f"{arrow} {better_label}", dx=6,
                   va="top" if on_top else "bottom", fontsize=style.FONT - 4,
                   color=style.AXIS)
