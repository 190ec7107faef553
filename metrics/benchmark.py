"""Benchmarks between teams (data contract, section 3): for a KPI and week, a team's value is
placed among the other teams' values."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass

from metrics.kpis import Better


@dataclass(frozen=True)
class Benchmark:
    median: float | None
    p25: float | None
    p75: float | None
    rank: int | None
    of: int

    def as_dict(self) -> dict:
        return {"median": self.median, "p25": self.p25, "p75": self.p75,
                "rank": self.rank, "of": self.of}


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as ``numpy.percentile`` does."""
    position = (len(sorted_values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def percentile_without(sorted_values: list[float], value: float | None, q: float) -> float:
    """``percentile`` of ``sorted_values`` less one occurrence of ``value`` (a team's own,
    when the others are wanted), without copying the list; ``value`` None removes nothing.
    The list without it must not be empty."""
    if value is None:
        return percentile(sorted_values, q)
    skip = bisect.bisect_left(sorted_values, value)  # any equal value leaves the same list

    def at(position: int) -> float:
        return sorted_values[position if position < skip else position + 1]

    position = (len(sorted_values) - 2) * q / 100.0
    low = int(position)
    high = min(low + 1, len(sorted_values) - 2)
    return at(low) + (at(high) - at(low)) * (position - low)


def benchmark(values: Mapping[object, float | None], team: object, better: Better) -> Benchmark:
    """The benchmark of ``team`` for one KPI and week; ``values`` maps every team to its value."""
    present = {t: v for t, v in values.items() if v is not None}
    others = sorted(v for t, v in present.items() if t != team)
    own = present.get(team)
    if others:
        median, p25, p75 = (percentile(others, q) for q in (50, 25, 75))
    else:
        median = p25 = p75 = None
    rank = None
    if own is not None and better != "neither":
        if better == "higher":
            rank = 1 + sum(1 for v in present.values() if v > own)
        else:
            rank = 1 + sum(1 for v in present.values() if v < own)
    return Benchmark(median, p25, p75, rank, len(present))
