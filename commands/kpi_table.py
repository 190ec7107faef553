"""A team's KPIs in a week with their benchmark, as a plain-text table for a terminal."""

from __future__ import annotations

from commands.i18n import Translator
from commands.kpi_names import show, title
from metrics import weeks
from metrics.kpis import KPIS
from storage.queries import KpiReport


def render(report: KpiReport, tr: Translator) -> str:
    heading = tr("Team {team}, {week}").format(team=report.team,
                                               week=tr.week(weeks.label(report.week)))
    if not report.has_data:
        return heading + "\n" + tr("No data for this week.")
    header = (tr("Key figure"), tr("Value"), tr("Other teams (median)"),
              tr("Middle half of the others"), tr("Rank"))
    rows = []
    for kpi in KPIS:
        b = report.benchmarks[kpi.key]
        middle = (f"{show(kpi.key, b.p25, tr)} – {show(kpi.key, b.p75, tr)}"
                  if b.p25 is not None else "–")
        rank = tr("{rank} of {of}").format(rank=b.rank, of=b.of) if b.rank is not None else ""
        rows.append((title(kpi.key, tr), show(kpi.key, report.values[kpi.key], tr),
                     show(kpi.key, b.median, tr), middle, rank))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first, *rest]).rstrip()

    out = [heading, "", line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)
