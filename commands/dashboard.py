"""``/dashboard [team] [week]`` — the team's weekly dashboard, shown privately: every KPI with
its value, the arrow and size of the change from last week, the norm and the other teams'
median; in plain words what changed most; which team to ask about the KPI where this team
stands weakest (as at Buurtzorg); the team's rapporters; and one image of every KPI over the
last 13 weeks with the other teams' middle half and the norm band.

Weeks without data say so: a KPI without a value shows a dash, a week without data a gap, and
a team with no data in the week a short note instead of a chart.
"""

from __future__ import annotations

from commands import kpi
from commands.context import Context
from commands.i18n import N_, Translator
from commands.kpi_names import show, title
from commands.reply import Chart, Reply, UsageError
from metrics import weeks
from metrics.kpis import BY_KEY, KPIS
from storage.models import Team
from storage.queries import KpiReport, WeekValues, kpi_report, team_codes, team_names

READS_ONLY = True  # answered in a read-only transaction (commands.dispatch)
DASHBOARD_WEEKS = 13

EXAMPLES = (
    ("/dashboard", N_("your team's weekly dashboard, as the rapporter gets it")),
    ("/dashboard HAD-C uge 45", N_("another team's dashboard for week 45")),
)


def parse(text: str) -> kpi.KpiArgs:
    """A team and a week, written as for /kpi."""
    args = kpi.parse(text)
    if args.kpi is not None or args.all_teams or args.share:
        raise UsageError(N_("/dashboard takes a team and a week, e.g. /dashboard HAD-C uge 45; "
                            "for one key figure, ask /kpi."))
    return args


def handle(args: kpi.KpiArgs, ctx: Context) -> Reply:
    teams = team_names(ctx.reads.fetch) if args.words else []
    codes = [code for code, _name in teams]
    team = kpi.named_team(args, ctx, teams)
    if team is None:
        raise kpi.no_team_error(ctx, codes or team_codes(ctx.reads.fetch))
    return dashboard(team, kpi.chosen_week(args, ctx), ctx)


def dashboard(team: str, week: int, ctx: Context) -> Reply:
    from charts.dashboard_grid import Panel, dashboard_figure
    from storage.teams import get_team

    tr, reads = ctx.tr, ctx.reads
    week_text = tr.week(weeks.label(week))
    heading = tr("*Weekly dashboard of team {team}*, {week}").format(team=team, week=week_text)
    values = reads.week_values(week)
    report = kpi_report(reads.fetch, team, week, values)
    if not report.has_data:
        return Reply(heading + "\n" + tr("No data for this week."))
    # The trend's windows: the same reads as /kpi's trends, so they come from the cache.
    first = week - kpi.TREND_WEEKS + 1
    histories = {k.key: reads.history(k.key, first, week) for k in KPIS}
    own = {key: history.values.get(team, {}) for key, history in histories.items()}

    lines = [heading]
    for k in KPIS:
        value, before = own[k.key].get(week), own[k.key].get(week - 1)
        line = f"{title(k.key, tr)}: *{show(k.key, value, tr)}*"
        change = kpi.from_last_week(k.key, value, before, tr)
        if change:
            arrow = "↑" if value > before else "↓" if value < before else "→"
            line += f" {arrow} {change}"
        parts = (kpi.norm_text(k.key, tr),
                 kpi.others_text(k.key, team, values, report.benchmarks[k.key], tr))
        lines.append(" · ".join([line, *(part for part in parts if part)]))
    lines.append("")
    lines += [s for s in (_biggest_change(own, week, tr), _ask(team, values, report, tr)) if s]
    team_row = get_team(ctx.session, team)
    lines.append(_goal_counts(ctx, team_row, week))
    rapporters = team_row.members_with("rapporter")
    if rapporters:
        lines.append(tr("For {rapporters}, to bring to the team meeting.").format(
            rapporters=" ".join(f"<@{user}>" for user in rapporters)))

    shown = list(range(week - DASHBOARD_WEEKS + 1, week + 1))
    panels = []
    for k in KPIS:
        bands = {}
        for w in shown:
            band = kpi.others_percentiles(histories[k.key], team, w, (25, 75))
            if band is not None:
                bands[w] = band
        panels.append(Panel(title(k.key, tr), {w: own[k.key][w] for w in shown if w in own[k.key]},
                            bands, k.norm, kpi.formatter(k.key, tr), k.better))
    team_label, _others, middle, _median, norm = kpi.legend_labels(team, tr)
    figure = dashboard_figure(
        shown, panels, heading=tr("Weekly dashboard of team {team}, {week}").format(
            team=team, week=week_text), legend=(team_label, middle, norm, tr("no data")),
        week_label=lambda w: tr.week(weeks.label(w)).rsplit(" ", 1)[0], better_label=tr("better"))
    chart = Chart(ctx.draw(figure), f"teampuls-dashboard-{team}-{weeks.label(week)}.png",
                  tr("Weekly dashboard of team {team}, {week}").format(team=team, week=week_text))
    return Reply("\n".join(lines), (), chart)


def _goal_counts(ctx: Context, team: Team, week: int) -> str:
    """Goals and follow-ups of the week, in counts only (never their text)."""
    import datetime as dt
    import zoneinfo

    from storage.goals import team_counts

    zone = zoneinfo.ZoneInfo(team.timezone) if team.timezone else ctx.now.tzinfo
    first, last = weeks.monday(week), weeks.sunday(week)
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    counts = team_counts(ctx.session, team.id, first, last, start, end)
    return ctx.tr("Goals set this week: {goals} · follow-ups done on time: {on_time} · "
                  "overdue: {overdue} · due next week: {due}").format(
                      goals=counts.goals_set, on_time=counts.done_on_time,
                      overdue=counts.overdue, due=counts.due_next_week)


def _biggest_change(own: dict[str, dict[int, float | None]], week: int,
                    tr: Translator) -> str | None:
    """The KPI that changed most from last week, relative to where it was, in plain words."""
    changes = []
    for key, by_week in own.items():
        value, before = by_week.get(week), by_week.get(week - 1)
        if value is not None and before is not None and value != before:
            changes.append((abs(value - before) / max(abs(before), 1e-9), key, before, value))
    if not changes:
        return None
    _size, key, before, value = max(changes)
    sentence = N_("{kpi} rose from {before} to {value}.") if value > before else \
        N_("{kpi} fell from {before} to {value}.")
    return tr(sentence).format(kpi=title(key, tr), before=show(key, before, tr),
                               value=show(key, value, tr))


def _ask(team: str, values: WeekValues, report: KpiReport, tr: Translator) -> str | None:
    """The team that is best on the KPI where this team stands weakest among the teams."""
    weakest = None
    for k in KPIS:
        b = report.benchmarks[k.key]
        if k.better == "neither" or b.rank is None or b.rank == 1 or b.of < 2:
            continue
        standing = (b.rank - 1) / (b.of - 1)
        if weakest is None or standing > weakest[0]:
            weakest = (standing, k.key)
    if weakest is None:
        return None
    key = weakest[1]
    present = {code: v for code, v in values[key].items() if v is not None and code != team}
    best = (max if BY_KEY[key].better == "higher" else min)(present, key=present.get)
    return tr("Ask team {team} about {kpi}: theirs is the best this week ({value}).").format(
        team=best, kpi=title(key, tr).lower(), value=show(key, present[best], tr))
