"""What a coach is told when a team's KPI drifts, and what the alert's buttons do: in plain
words what changed, since when, the usual level and the current one, how rare this is by
chance, with an SPC chart; "seen", "discuss with the team" (a neutral note in the team's
channel for its rapporter) and "not useful" (recorded for the admins' monthly summary)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from commands.i18n import N_, Translator
from commands.kpi import formatter
from commands.kpi_names import show, title
from commands.reply import Button, Chart, Item, Reply
from metrics import weeks
from metrics.drift import DRIVERS, METRICS
from storage.models import DriftAlert, Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_WEEKS = 52


def _rises(alert: DriftAlert) -> bool:
    """Whether the alert's KPI got worse by rising (``metrics.drift.METRICS``)."""
    return METRICS[alert.metric] > 0


def _drivers(alert: DriftAlert, tr: Translator) -> str | None:
    """The KPIs whose part the detector took out of the alert's KPI (its expected level
    allows for them), in words; None for a KPI watched by itself."""
    names = [title(d, tr).lower() for d in DRIVERS.get(alert.metric, ())]
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return tr("{first} and {last}").format(first=", ".join(names[:-1]), last=names[-1])


def _change(alert: DriftAlert, tr: Translator) -> str:
    """What changed, in words that match the numbers shown: a KPI watched by itself has risen
    (fallen) from its usual level; a KPI watched beyond what its drivers explain is higher
    (lower) than expected from them, which is what ``baseline`` holds."""
    name = title(alert.metric, tr)
    drivers = _drivers(alert, tr)
    if drivers is None:
        verb = N_("{kpi} has risen") if _rises(alert) else N_("{kpi} has fallen")
        return tr(verb).format(kpi=name)
    verb = N_("{kpi} is higher than expected from {drivers}") if _rises(alert) else \
        N_("{kpi} is lower than expected from {drivers}")
    return tr(verb).format(kpi=name, drivers=drivers)


def _levels(alert: DriftAlert, tr: Translator) -> str:
    usual, current = show(alert.metric, alert.baseline, tr), show(alert.metric, alert.current, tr)
    drivers = _drivers(alert, tr)
    if drivers is None:
        return tr("Usually {usual}; since then {current} on average.").format(
            usual=usual, current=current)
    return tr("Expected from its usual level and {drivers}: {usual}; since then {current} on "
              "average.").format(drivers=drivers, usual=usual, current=current)


def _rarity(years: float, tr: Translator) -> str:
    if years >= 100:
        return tr("A change like this happens by chance less than once in 100 years.")
    return tr("A change like this happens by chance about once in {years} years.").format(
        years=max(1, round(years)))


def alert_reply(alert: DriftAlert, team: Team, message_id: int, values: Mapping[int, float],
                tr: Translator, draw: Callable[[Figure], bytes]) -> Reply:
    from charts.spc import spc_figure

    since = tr.week(weeks.label(alert.start_week))
    text = (tr("*Team {team}: {change}* since {since}.").format(
        team=team.code, change=_change(alert, tr), since=since) + "\n"
        + _levels(alert, tr) + "\n"
        + _rarity(alert.years_by_chance, tr))
    shown = list(range(alert.week - CHART_WEEKS + 1, alert.week + 1))
    heading = tr("{kpi}, team {team}").format(kpi=title(alert.metric, tr), team=team.code)
    figure = spc_figure(
        shown, [values.get(w) for w in shown], usual=alert.baseline, spread=alert.spread,
        start_week=alert.start_week, alert_week=alert.week, title=heading,
        format_value=formatter(alert.metric, tr),
        week_label=lambda w: tr.week(weeks.label(w)).rsplit(" ", 1)[0],
        legend=(tr("weeks"),
                tr("usual level") if _drivers(alert, tr) is None else tr("expected level"),
                tr("usual variation"),
                tr("since the change")))
    chart = Chart(draw(figure), f"teampuls-alert-{team.code}-{alert.metric}.png", heading)
    buttons = (Button(tr("Seen"), "drift_seen", str(message_id)),
               Button(tr("Discuss with the team"), "drift_discuss", str(message_id), "primary"),
               Button(tr("Not useful"), "drift_not_useful", str(message_id)))
    return Reply(text, chart=chart, items=(Item(tr("What will you do?"), buttons),))


def discuss_note(alert: DriftAlert, team: Team, coach: str, tr: Translator) -> str:
    """The neutral note in the team's channel: no blame, a topic for the meeting."""
    rapporters = " ".join(f"<@{u}>" for u in team.members_with("rapporter"))
    drivers = _drivers(alert, tr)
    fields = {"coach": coach, "kpi": title(alert.metric, tr).lower(),
              "direction": tr("higher") if _rises(alert) else tr("lower"),
              "since": tr.week(weeks.label(alert.start_week)), "drivers": drivers}
    if drivers is None:
        note = tr("<@{coach}> suggests the team looks at {kpi} at the next team meeting: it "
                  "has been {direction} than usual since {since}.").format(**fields)
    else:
        note = tr("<@{coach}> suggests the team looks at {kpi} at the next team meeting: it "
                  "has been {direction} than expected from {drivers} since {since}.").format(
                      **fields)
    return note + (" " + tr("For {rapporters}.").format(rapporters=rapporters)
                   if rapporters else "")


def digest_reply(signals: list[tuple[DriftAlert, str]], tr: Translator) -> Reply:
    lines = [tr("*Open signals of your teams*, the last 8 weeks:")]
    for alert, code in signals:
        lines.append("• " + tr("Team {team}: {change} since {since} ({usual} → {current})")
                     .format(team=code, change=_change(alert, tr),
                             since=tr.week(weeks.label(alert.start_week)),
                             usual=show(alert.metric, alert.baseline, tr),
                             current=show(alert.metric, alert.current, tr)))
    return Reply("\n".join(lines))


def usefulness_reply(counts: Mapping[str, Mapping[str, int]], tr: Translator) -> Reply:
    lines = [tr("*Coach alerts in the last month*: how coaches answered")]
    for metric, answers in sorted(counts.items()):
        lines.append(tr("{kpi}: {sent} sent · seen {seen} · discussed {discuss} · not useful "
                        "{not_useful} · no answer {none}").format(
                            kpi=title(metric, tr), sent=sum(answers.values()),
                            seen=answers.get("seen", 0), discuss=answers.get("discuss", 0),
                            not_useful=answers.get("not_useful", 0),
                            none=answers.get("none", 0)))
    if len(lines) == 1:
        lines.append(tr("No alerts were sent."))
    return Reply("\n".join(lines))
