"""One look for every chart: readable on a phone (large type, few ticks) and safe for colour
blindness (the Okabe–Ito palette; the team is also told apart by shape, not only colour)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

TEAM = "#0072B2"  # blue: the team asked about
OTHERS = "#999999"  # grey: the other teams
MEDIAN = "#E69F00"  # orange
NORM = "#009E73"  # bluish green
MISSING = "#CC79A7"  # reddish purple: weeks without data
TEXT = "#222222"

FONT = 13
TITLE = 16
SIZE = (6.4, 4.4)  # inches; at DPI, 1024 x 704 pixels: sharp on a phone, small to send
DPI = 160


def figure(width: float = SIZE[0], height: float = SIZE[1], *, legend_rows: int = 1,
           left: float = 0.9) -> Figure:
    """A figure with fixed margins, in inches: a title on top, a legend of ``legend_rows`` rows
    at the bottom, ``left`` for the value labels. (Fixed margins draw several times faster
    than matplotlib's constrained layout, and the charts' shapes are known.)"""
    made = Figure(figsize=(width, height), dpi=DPI)
    made.subplots_adjust(left=left / width, right=1 - 0.5 / width, top=1 - 0.55 / height,
                         bottom=(0.45 + 0.3 * legend_rows) / height)
    return made


def value_axis(axis, format_value, ticks: int = 4) -> None:
    """Few ticks, labelled as people read the values (percent, decimal comma)."""
    axis.set_major_locator(MaxNLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: format_value(value)))


def tidy(axes) -> None:
    """Large tick labels, no box: the data carry the chart."""
    axes.tick_params(labelsize=FONT - 1, colors=TEXT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#555555")
