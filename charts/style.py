"""One look for every chart: readable on a phone (large type, few labels) and safe for colour
blindness (the Okabe–Ito palette; the team is also told apart by shape, not only colour).

Charts are drawn straight onto the figure (``Frame``), with scales and legends as plain lines
and texts. Matplotlib's Axes, with its tick and legend machinery, builds several artists per
label and measures every one of them: on these small charts it cost more than the data, and
without it a chart draws in about half the time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox, BboxTransform, offset_copy

TEAM = "#0072B2"  # blue: the team asked about
OTHERS = "#999999"  # grey: the other teams
MEDIAN = "#E69F00"  # orange
NORM = "#009E73"  # bluish green
MISSING = "#CC79A7"  # reddish purple: weeks without data
TEXT = "#222222"
GRID = "#DDDDDD"
AXIS = "#555555"

FONT = 13
TITLE = 16
SIZE = (6.4, 4.4)  # inches; at DPI, 1024 x 704 pixels: sharp on a phone, small to send
DPI = 160
LEGEND_ROW = 0.3  # inches


def figure(width: float = SIZE[0], height: float = SIZE[1], *, legend_rows: int = 1,
           left: float = 0.9) -> Figure:
    """A figure with fixed margins, in inches: a title on top, a legend of ``legend_rows`` rows
    at the bottom, ``left`` for the value labels. (Fixed margins draw several times faster
    than matplotlib's constrained layout, and the charts' shapes are known.)"""
    made = Figure(figsize=(width, height), dpi=DPI)
    made.subplots_adjust(left=left / width, right=1 - 0.5 / width, top=1 - 0.55 / height,
                         bottom=(0.45 + LEGEND_ROW * legend_rows) / height)
    return made


def limits(values: Sequence[float], *, pad: float = 0.08, floor: float | None = None) -> tuple:
    """Data limits around ``values`` with some room; not below ``floor`` where one is given
    and every value is above it."""
    low, high = min(values), max(values)
    room = (high - low) * pad or abs(high) * 0.1 or 1.0
    if floor is not None and low >= floor:
        return max(low - room, floor), high + room
    return low - room, high + room


def _round_values(span: tuple[float, float], ticks: int) -> list[float]:
    """A few round values within ``span`` (as matplotlib would place ticks)."""
    low, high = sorted(span)
    return [v for v in MaxNLocator(ticks).tick_values(low, high) if low <= v <= high]


class Frame:
    """The plot area of a chart, drawn straight onto the figure: its rectangle is the figure's
    subplot parameters, its data limits ``xlim`` (left, right) and ``ylim`` (bottom, top; a
    falling pair puts row 0 on top). A matplotlib Axes costs more to
    build than the whole of a small chart draws, and these charts use nothing of it but its
    coordinates; artists placed with ``transform`` (or ``at``, for offsets in points) sit where
    they would on an Axes with those limits."""

    def __init__(self, figure: Figure, xlim: tuple[float, float], ylim: tuple[float, float], *,
                 area: tuple[float, float, float, float] | None = None):
        """``area``: (left, bottom, right, top) in figure fractions; the subplot parameters'
        by default."""
        params = figure.subplotpars
        self.figure = figure
        self.xlim, self.ylim = xlim, ylim
        self.area = area or (params.left, params.bottom, params.right, params.top)
        left, bottom, right, top = self.area
        self.transform = BboxTransform(
            Bbox([[xlim[0], ylim[0]], [xlim[1], ylim[1]]]),
            Bbox([[left, bottom], [right, top]])) + figure.transFigure

    def at(self, dx: float = 0, dy: float = 0):
        """Data coordinates moved by (dx, dy) points."""
        return offset_copy(self.transform, fig=self.figure, x=dx, y=dy, units="points")

    def add(self, artist):
        self.figure.add_artist(artist)
        return artist

    def line(self, x, y, **style) -> Line2D:
        return self.add(Line2D(x, y, transform=self.transform, **style))

    def band(self, x, low, high, **style) -> Polygon:
        """The area between two lines over the same x."""
        points = list(zip(x, low)) + list(zip(x, high))[::-1]
        return self.add(Polygon(points, closed=True, transform=self.transform, **style))

    def rect(self, x: float, y: float, width: float, height: float, **style) -> Rectangle:
        return self.add(Rectangle((x, y), width, height, transform=self.transform, **style))

    def text(self, x: float, y: float, text: str, *, dx: float = 0, dy: float = 0, **style):
        return self.figure.text(x, y, text, transform=self.at(dx, dy), **style)

    def title(self, text: str) -> None:
        left, _bottom, _right, top = self.area
        self.figure.text(left, top + 0.12 / self.figure.get_size_inches()[1], text,
                         fontsize=TITLE, color=TEXT, ha="left", va="bottom")

    def no_data(self, positions) -> None:
        """Hatched columns over the x positions (weeks) that have no data."""
        for x in positions:
            self.rect(x - 0.5, self.ylim[0], 1, self.ylim[1] - self.ylim[0], color=MISSING,
                      alpha=0.15, lw=0, hatch="//")

    def axis_lines(self, left: bool = True, bottom: bool = True) -> None:
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        if left:
            self.line([x0, x0], [y0, y1], color=AXIS, lw=1)
        if bottom:
            self.line([x0, x1], [y0, y0], color=AXIS, lw=1)

    def y_scale(self, format_value: Callable[[float], str], ticks: int = 4) -> None:
        """A few round values up the left side, with light grid lines across."""
        for value in _round_values(self.ylim, ticks):
            self.line(self.xlim, [value, value], color=GRID, lw=1, zorder=0)
            self.text(self.xlim[0], value, format_value(value), dx=-5, ha="right",
                      va="center", fontsize=FONT - 1, color=TEXT)

    def x_scale(self, format_value: Callable[[float], str], ticks: int = 4) -> None:
        """A few round values along the bottom, with light grid lines up."""
        values = _round_values(self.xlim, ticks)
        for value in values:
            self.line([value, value], self.ylim, color=GRID, lw=1, zorder=0)
        self.x_labels(values, format_value)

    def x_labels(self, positions, label: Callable[[float], str], *,
                 fontsize: float = FONT - 1) -> None:
        """Labels under the bottom edge at data positions (weeks, say)."""
        for position in positions:
            self.text(position, self.ylim[0], label(position), dy=-5, ha="center", va="top",
                      fontsize=fontsize, color=TEXT, linespacing=1.0)


def week_labels(weeks: Sequence[int], positions: Sequence[int],
                label: Callable[[int], str]) -> dict[int, str]:
    """The labels of the weeks at ``positions`` (indexes into ``weeks``, week indexes), with
    the year under the first label and under each where the year changes: "uge 03" alone
    does not say which January."""
    from metrics import weeks as week_index  # pure and light: no I/O

    texts, year = {}, None
    for position in positions:
        week = weeks[int(position)]
        this_year = week_index.label(week)[:4]
        texts[int(position)] = label(week) + (f"\n{this_year}" if this_year != year else "")
        year = this_year
    return texts


@dataclass(frozen=True)
class Key:
    """One entry of a legend: how the mark looks, and its label."""

    label: str
    color: str
    mark: str = "line"  # line, thick, dot, band or hatch
    width: float = 2.5
    style: str = "-"
    alpha: float = 1.0


def legend(figure: Figure, keys: Sequence[Key], *, columns: int = 3) -> None:
    """The keys in rows of ``columns`` slots along the bottom of the figure."""
    width, height = figure.get_size_inches()
    slot = (width - 0.6) / columns
    for n, key in enumerate(keys):
        row, column = divmod(n, columns)
        x = (0.3 + column * slot) / width
        y = (0.12 + LEGEND_ROW * (max(0, (len(keys) - 1) // columns) - row) + 0.1) / height
        mark = 0.35 / width
        if key.mark in ("band", "hatch"):
            figure.add_artist(Rectangle(
                (x, y - 0.07 / height), mark, 0.14 / height, transform=figure.transFigure,
                color=key.color, alpha=key.alpha, lw=0,
                hatch="//" if key.mark == "hatch" else None))
        elif key.mark == "dot":
            figure.add_artist(Line2D([x + mark / 2], [y], marker="o", markersize=9, lw=0,
                                     color=key.color, transform=figure.transFigure))
        else:
            figure.add_artist(Line2D([x, x + mark], [y, y], color=key.color, ls=key.style,
                                     lw=key.width * (3 if key.mark == "thick" else 1),
                                     solid_capstyle="butt", transform=figure.transFigure))
        figure.text(x + mark + 0.08 / width, y, key.label, ha="left", va="center",
                    fontsize=FONT - 2, color=TEXT)
