"""``/capacity`` — the back office's view of hours needed and available per professional group
(``metrics.capacity``):

- ``/capacity [TEAM] [share]`` — a team's needed, available and norm hours per group over the
  past 13 and the next 8 weeks, as a chart, and the gap in hours and FTE in plain words. For the
  team's members, its coaches, rapporters and back office, and the admins.
- ``/capacity all`` — every team's gap per group in the coming weeks, most urgent first, as a
  table and a heat map; where staff could be shared between teams; where to recruit; temp rule
  breaches. For the back office (its own teams) and the admins (every team).
- ``/capacity rule TEAM 8% 3`` — the back office's guideline for a team's temps (a temp share
  above 8 % for 3 weeks running is a breach); ``/capacity rule TEAM off`` removes it;
  ``/capacity rules`` lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.context import Context
from commands.i18n import N_, Translator
from commands.reply import Chart, Reply, UsageError
from metrics import weeks
from storage.models import Team

EXAMPLES = (
    ("/capacity", N_("hours needed and available per professional group, now and 8 weeks on")),
    ("/capacity alle", N_("back office: every team's shortages, sharing and recruiting")),
    ("/capacity regel HAD-C 8% 3", N_("back office: flag HAD-C when temps pass 8 % for 3 weeks")),
)
ALL_WORDS = ("all", "alle")
RULE_WORDS = ("rule", "regel")
RULES_WORDS = ("rules", "regler")
SHARE_WORDS = ("share", "del")
OFF_WORDS = ("off", "fra", "av", "slet", "slett")
TABLE_ROWS = 30  # rows of /capacity all's table and heat map; the rest are counted

PROFESSION_NAMES = {
    "nurse": N_("Nurses"),
    "sosu_assistant": N_("Social and health care assistants"),
    "sosu_helper": N_("Social and health care helpers"),
    "physio": N_("Physiotherapists"),
    "ot": N_("Occupational therapists"),
    "pedagogue": N_("Pedagogues"),
    "case_officer": N_("Case officers"),
    "other": N_("Others"),
}
SHORT_NAMES = {
    "nurse": N_("nurse"), "sosu_assistant": N_("SSA"), "sosu_helper": N_("SSH"),
    "physio": N_("physio"), "ot": N_("OT"), "pedagogue": N_("pedagogue"),
    "case_officer": N_("case officer"), "other": N_("other"),
}


@dataclass(frozen=True)
class CapacityArgs:
    action: str = "team"  # team, all, rule, rules
    team: str | None = None
    share: bool = False
    rule: tuple[float, int] | None = None  # (max share, weeks) for "rule"; None: off


def parse(text: str) -> CapacityArgs:
    words = text.split()
    folded = [w.casefold() for w in words]
    if folded and folded[0] in RULES_WORDS and len(words) == 1:
        return CapacityArgs("rules")
    if folded and folded[0] in RULE_WORDS:
        if len(words) == 3 and folded[2] in OFF_WORDS:
            return CapacityArgs("rule", team=words[1])
        if len(words) == 4:
            return CapacityArgs("rule", team=words[1], rule=(_share(words[2]),
                                                              _weeks(words[3])))
        raise UsageError(N_("Write a temp rule as /capacity regel TEAM 8% 3 (a temp share "
                            "above 8 % for 3 weeks running), or /capacity regel TEAM fra."))
    share = any(w in SHARE_WORDS for w in folded)
    rest = [w for w, f in zip(words, folded, strict=True) if f not in SHARE_WORDS]
    if any(w.casefold() in ALL_WORDS for w in rest):
        if len(rest) > 1 or share:
            raise UsageError(N_("/capacity all takes no other words; it is shown to you alone."))
        return CapacityArgs("all")
    if len(rest) > 1:
        raise UsageError(N_("Name one team only."))
    return CapacityArgs("team", team=rest[0] if rest else None, share=share)


def _share(word: str) -> float:
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*%?", word)
    value = float(match.group(1).replace(",", ".")) if match else None
    if value is None or not 0 < value < 100:
        raise UsageError(N_("{word} is not a temp share; write a percentage such as 8%."),
                         word=word)
    return value / 100


def _weeks(word: str) -> int:
    if not word.isdigit() or not 1 <= int(word) <= 52:
        raise UsageError(N_("{word} is not a number of weeks (1 to 52)."), word=word)
    return int(word)


def handle(args: CapacityArgs, ctx: Context) -> Reply:
    if args.action == "all":
        return overview(ctx)
    if args.action == "rules":
        return rules_reply(ctx)
    if args.action == "rule":
        return set_rule(args, ctx)
    return team_reply(_team(args.team, ctx), args.share, ctx)


# -- who may see what -------------------------------------------------------------------------

def _team(code: str | None, ctx: Context) -> Team:
    if code is None:
        if ctx.team is None:
            raise UsageError(N_("Name a team, e.g. /capacity HAD-C, or ask in a team's channel."))
        team = ctx.team
    else:
        team = _team_named(code, ctx)
    if not _may_see(team, ctx):
        raise UsageError(N_("The capacity of team {team} is for its members, its coaches and "
                            "its back office."), team=team.code)
    return team


def _may_see(team: Team, ctx: Context) -> bool:
    """The admins, the team's coaches, rapporters and back office, and its members."""
    from storage.goals import is_member

    user = ctx.request.user_id
    return (user in ctx.admins or any(r.user_id == user for r in team.roles)
            or is_member(ctx.session, user, team.id))


def _overview_teams(ctx: Context) -> list[Team]:
    from storage.capacity import back_office_teams
    from storage.teams import list_teams

    if ctx.request.user_id in ctx.admins:
        return list_teams(ctx.session)
    mine = back_office_teams(ctx.session, ctx.request.user_id)
    if not mine:
        raise UsageError(N_("/capacity all is for the back office and the admins. An admin "
                            "can make you back office of teams: /teampuls admin back_office "
                            "TEAM @you"))
    return mine


# -- one team ---------------------------------------------------------------------------------

def team_plan(team: Team, ctx: Context, *, cached: bool = True):
    """The team's capacity plan as of the last complete week (kept until the next import,
    unless not ``cached``)."""
    from metrics.capacity import plan
    from storage.capacity import team_records

    last = weeks.last_complete(ctx.now.date())

    def compute():
        return plan(team.code, team_records(ctx.session, team.id, last), last)

    return ctx.reads.computed(("capacity", team.id, last), compute) if cached else compute()


def group_name(profession: str, tr: Translator) -> str:
    return tr(PROFESSION_NAMES.get(profession, profession))


def short_name(profession: str, tr: Translator) -> str:
    """The group's name in a table row or a list ("SSA")."""
    return tr(SHORT_NAMES.get(profession, profession))


def _hours(value: float, tr: Translator) -> str:
    return tr("{hours} h").format(hours=tr.decimal(value, 0))


def _fte(value: float, tr: Translator) -> str:
    from metrics.capacity import FTE_HOURS

    return tr.decimal(value / FTE_HOURS, 1)


def gap_words(group, tr: Translator) -> str:
    """A group's coming weeks in plain words: short or spare, how much, from when."""
    import numpy as np

    from metrics.capacity import FTE_HOURS, SIGNIFICANT_FTE

    gap = group.coming_gap
    mean = float(gap.mean())
    short = np.flatnonzero(gap / FTE_HOURS <= -SIGNIFICANT_FTE)
    if short.size:
        worst = float(gap.min())
        return tr("short from {week}: up to {fte} FTE ({hours}) a week, {mean_fte} FTE on "
                  "average over the next {n} weeks").format(
            week=tr.week(weeks.label(int(group.coming_weeks[short[0]]))),
            fte=_fte(-worst, tr), hours=_hours(-worst, tr), mean_fte=_fte(-mean, tr),
            n=len(gap))
    if mean / FTE_HOURS >= SIGNIFICANT_FTE:
        return tr("{fte} FTE ({hours}) a week to spare on average over the next {n} "
                  "weeks").format(fte=_fte(mean, tr), hours=_hours(mean, tr), n=len(gap))
    return tr("in balance over the next {n} weeks (within {fte} FTE)").format(
        n=len(gap), fte=tr.decimal(SIGNIFICANT_FTE, 1))


def team_reply(team: Team, share: bool, ctx: Context) -> Reply:
    import numpy as np

    from metrics.capacity import TARGET_PRODUCTIVITY

    tr = ctx.tr
    made = team_plan(team, ctx)
    first, last = made.last_week + 1, made.last_week + len(made.absence_rate)
    heading = tr("*Capacity of team {team}*: hours needed and available per professional "
                 "group, {first} to {last}").format(
        team=team.code, first=tr.week(weeks.label(first)), last=tr.week(weeks.label(last)))
    visiting = [g for g in made.groups if g.visiting]
    if not visiting:
        return Reply(heading + "\n" + tr("No visits in the last 13 weeks: nothing to plan "
                                         "from."), share=share)
    fields = []
    for group in made.groups:
        coming = slice(-group.coming, None)
        needed = float(group.needed[coming].mean())
        low, high = float(group.needed_low[coming].mean()), float(group.needed_high[coming].mean())
        available = float(group.available[coming].mean())
        norm = group.norm[coming]
        parts = [tr("available {available}").format(available=_hours(available, tr))]
        if group.visiting:
            parts.append(tr("needed {needed} (80 %: {low}–{high})").format(
                needed=_hours(needed, tr), low=tr.decimal(low, 0), high=tr.decimal(high, 0)))
        if np.isfinite(norm).any():
            parts.append(tr("norm {norm}").format(norm=_hours(float(np.nanmean(norm)), tr)))
        value = " · ".join(parts) + tr(" a week")
        past = group.coming + 1  # the last complete week
        value += "\n" + tr("last week: worked {worked}, temps {temp}").format(
            worked=_hours(float(group.worked[-past]), tr), temp=_hours(float(group.temp[-past]), tr))
        if group.visiting:
            value += "\n" + gap_words(group, tr)
        else:
            value += "\n" + tr("no visits: not planned from demand")
        fields.append((group_name(group.profession, tr), value))
    total = sum(float(g.coming_gap.mean()) for g in visiting)
    summary = (tr("In all, the team is short {fte} FTE ({hours}) a week on average.")
               if total < 0 else
               tr("In all, the team has {fte} FTE ({hours}) a week to spare on average."))
    lines = [heading, summary.format(fte=_fte(abs(total), tr), hours=_hours(abs(total), tr)),
             tr("Available: contracted hours minus the absence expected from the team's own "
                "last 13 weeks and last year's vacation. Needed: the forecast of client hours "
                "at {target} productivity.").format(target=tr.percent(TARGET_PRODUCTIVITY, 1))]
    return Reply("\n".join(lines), fields=tuple(fields),
                 chart=_team_chart(team, made, visiting, ctx), share=share)


def _team_chart(team: Team, made, visiting, ctx: Context) -> Chart:
    from charts.capacity import GroupPanel, team_figure

    tr = ctx.tr
    weeks_shown = visiting[0].weeks
    panels = [GroupPanel(group_name(g.profession, tr), g.needed, g.needed_low, g.needed_high,
                         g.available, g.norm) for g in visiting]
    title = tr("Capacity of team {team}").format(team=team.code)
    figure = team_figure(
        weeks_shown, visiting[0].coming, panels, heading=title,
        week_label=lambda w: tr("wk {week}").format(week=_week_number(w)),
        format_hours=lambda v: tr.decimal(v, 0),
        legend=(tr("needed"), tr("80 % interval"), tr("available"), tr("norm"),
                tr("forecast")), unit=tr("hours a week"))
    return Chart(ctx.draw(figure), f"teampuls-{team.code}-capacity-{weeks.label(made.last_week)}"
                 ".png", title)


# -- every team -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    """What ``/capacity all`` and the back office's digest say, for a set of teams."""

    last_week: int
    shortages: list  # metrics.capacity.Shortage, most urgent first
    suggestions: list  # metrics.capacity.ShareSuggestion
    breaches: list  # metrics.capacity.TempBreach


def overview_of(teams: list[Team], ctx: Context) -> Overview:
    from metrics.capacity import share_suggestions, shortages, temp_breach
    from storage.capacity import temp_rules

    last = weeks.last_complete(ctx.now.date())
    # one copy for the whole set: the cache keeps few entries, and a set is asked for again
    plans = ctx.reads.computed(("capacity_plans", tuple(t.id for t in teams), last),
                               lambda: [team_plan(t, ctx, cached=False) for t in teams])
    rows = shortages(plans)
    rules = temp_rules(ctx.session, [t.id for t in teams])
    shares = ctx.reads.history("temp_share", last - 52, last).values if rules else {}
    codes = {t.id: t.code for t in teams}
    breaches = [b for team_id, rule in sorted(rules.items(), key=lambda kv: codes[kv[0]])
                if (b := temp_breach(codes[team_id], rule, shares.get(codes[team_id], {}),
                                     last))]
    return Overview(last, rows, share_suggestions(rows), breaches)


def overview(ctx: Context) -> Reply:
    tr = ctx.tr
    teams = _overview_teams(ctx)
    seen = overview_of(teams, ctx)
    heading = tr("*Capacity of {n} teams*, the next weeks: the gap per professional group in "
                 "FTE (minus: short), most urgent first").format(n=len(teams))
    if not seen.shortages:
        return Reply(heading + "\n" + tr("No team has visits in the last 13 weeks."))
    lines = [heading, _table(seen, tr)]
    lines += advice_lines(seen, tr)
    return Reply("\n".join(lines), chart=_heat_map(seen, ctx))


def advice_lines(seen: Overview, tr: Translator) -> list[str]:
    """Sharing, recruiting and temp rule breaches, in plain words."""
    from metrics.capacity import RECRUIT_WEEKS

    lines = []
    if seen.suggestions:
        lines.append("*" + tr("Could be shared") + "*")
        for s in seen.suggestions:
            lines.append("• " + tr("{giver} has {fte} FTE {group} to spare while {taker} is short, "
                                   "{first} to {last}").format(
                giver=s.giver, taker=s.taker, fte=tr.decimal(s.fte, 1),
                group=short_name(s.profession, tr),
                first=tr.week(weeks.label(s.first_week)), last=tr.week(weeks.label(s.last_week))))
    recruit = [r for r in seen.shortages if r.recruit]
    if recruit:
        lines.append("*" + tr("Consider recruiting") + "*")
        for r in recruit:
            lines.append("• " + tr("{team} {group}: short {fte} FTE to the end of the forecast, "
                                   "and it does not close").format(
                team=r.team, group=short_name(r.profession, tr),
                fte=tr.decimal(float(-r.gap_fte[-RECRUIT_WEEKS:].mean()), 1)))
    if seen.breaches:
        lines.append("*" + tr("Temp rules broken") + "*")
        for b in seen.breaches:
            lines.append("• " + tr("{team}: temp share {current} in the last week, above {limit} "
                                   "for {n} weeks running (rule: {weeks} weeks)").format(
                team=b.team, current=tr.percent(b.current), limit=tr.percent(b.rule.max_share, 0),
                n=b.weeks_running, weeks=b.rule.weeks))
    return lines


def _row_name(row, tr: Translator) -> str:
    """A shortage's row in the table and the heat map: "HAD-C SSA"."""
    return f"{row.team} {short_name(row.profession, tr)}"


def _week_number(week: int) -> str:
    """The week's number alone, "07", for crowded axes and columns."""
    return weeks.label(int(week)).split("-W")[1]


def _table(seen: Overview, tr: Translator) -> str:
    rows = seen.shortages[:TABLE_ROWS]
    coming = rows[0].weeks
    names = [_row_name(r, tr) for r in rows]
    width = max(len(n) for n in names)
    header = " " * width + "".join(f"{_week_number(w):>6}" for w in coming)
    body = [name.ljust(width) + "".join(f"{_fte_cell(v, tr):>6}" for v in r.gap_fte)
            for name, r in zip(names, rows, strict=True)]
    more = len(seen.shortages) - len(rows)
    table = "```\n" + "\n".join([header, *body]) + "\n```"
    if more > 0:
        table += "\n" + tr("… and {n} more with smaller gaps.").format(n=more)
    return table


def _fte_cell(value: float, tr: Translator) -> str:
    """One decimal, and no "-0,0"."""
    return tr.decimal(round(value, 1) + 0.0, 1)


def _heat_map(seen: Overview, ctx: Context) -> Chart:
    import numpy as np

    from charts.capacity import gap_heat_map

    tr = ctx.tr
    rows = seen.shortages[:TABLE_ROWS]
    title = tr("Gap per team and group, FTE")
    figure = gap_heat_map(
        rows[0].weeks, [_row_name(r, tr) for r in rows],
        np.array([r.gap_fte for r in rows]), heading=title, week_label=_week_number,
        format_fte=lambda v: _fte_cell(v, tr), legend=(tr("short"), tr("to spare")))
    return Chart(ctx.draw(figure), f"teampuls-capacity-{weeks.label(seen.last_week)}.png", title)


# -- temp rules -------------------------------------------------------------------------------

def set_rule(args: CapacityArgs, ctx: Context) -> Reply:
    from metrics.capacity import TempRule
    from storage.capacity import set_temp_rule

    tr = ctx.tr
    team = _team_named(args.team, ctx)
    user = ctx.request.user_id
    if user not in ctx.admins and not any(r.role == "back_office" and r.user_id == user
                                          for r in team.roles):
        raise UsageError(N_("Temp rules are set by the team's back office and the admins."))
    rule = TempRule(*args.rule) if args.rule else None
    set_temp_rule(ctx.session, team, rule, user, ctx.now)
    if rule is None:
        return Reply(tr("Team {team} has no temp rule now.").format(team=team.code))
    return Reply(tr("Team {team} breaks its temp rule when its temp share is above {limit} for "
                    "{weeks} weeks running; breaches show in /capacity all and in the back "
                    "office's Monday message.").format(
        team=team.code, limit=tr.percent(rule.max_share, 1), weeks=rule.weeks))


def _team_named(code: str | None, ctx: Context) -> Team:
    from storage.errors import TeamError
    from storage.teams import get_team

    try:
        return get_team(ctx.session, code or "")
    except TeamError:
        raise UsageError(N_("There is no team {team}."), team=code) from None


def rules_reply(ctx: Context) -> Reply:
    from storage.capacity import temp_rules

    tr = ctx.tr
    teams = _overview_teams(ctx)
    rules = temp_rules(ctx.session, [t.id for t in teams])
    if not rules:
        return Reply(tr("No temp rules yet. Set one: /capacity regel TEAM 8% 3"))
    lines = [tr("*Temp rules*")]
    for team in teams:
        if team.id in rules:
            rule = rules[team.id]
            lines.append(tr("{team}: above {limit} for {weeks} weeks running").format(
                team=team.code, limit=tr.percent(rule.max_share, 1), weeks=rule.weeks))
    return Reply("\n".join(lines))


# -- the back office's Monday message ---------------------------------------------------------

DIGEST_SHORTAGES = 10


def digest_reply(teams: list[Team], ctx: Context) -> Reply | None:
    """The week's news for a back office user's teams; None when there is none."""
    if not teams:
        return None
    tr = ctx.tr
    seen = overview_of(teams, ctx)
    short = [r for r in seen.shortages if r.first_short is not None]
    if not (short or seen.breaches):
        return None
    lines = [tr("*Capacity this week* for your {n} teams").format(n=len(teams))]
    if short:
        lines.append("*" + tr("Shortages coming") + "*")
        for r in short[:DIGEST_SHORTAGES]:
            lines.append("• " + tr("{team} {group}: short from {week}, up to {fte} FTE").format(
                team=r.team, group=short_name(r.profession, tr),
                week=tr.week(weeks.label(r.first_short)), fte=tr.decimal(-r.worst_fte, 1)))
        if len(short) > DIGEST_SHORTAGES:
            lines.append(tr("… and {n} more with smaller gaps.").format(
                n=len(short) - DIGEST_SHORTAGES))
    lines += advice_lines(seen, tr)
    lines.append(tr("The whole picture: /capacity all"))
    return Reply("\n".join(lines))
