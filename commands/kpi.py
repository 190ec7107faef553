"""``/kpi [kpi] [team] [week] [all] [share]`` — key figures with the other teams as benchmark.

- no KPI: the team's card for the week (value, change from last week, norm, the other teams'
  median and range, rank) and a chart placing the team among the others on every KPI;
- a KPI: its trend over the last 26 weeks with the norm band and the other teams' middle half;
- a KPI and ``all``: every team on that KPI in one week, as a bar chart.

Words may come in any order. The week is ``2026-W45``, ``W45`` or ``uge 45`` / ``uke 45`` /
``week 45`` (the latest such week that has ended), or ``W45 2026`` / ``uge 45 2026``; without
one, the last complete week. A team is named by its code or its name (``commands.kpi_words``,
shared with ``teampuls kpi``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.context import Context
from commands.i18n import N_, Translator
from commands.kpi_names import LONGEST_NAME, closest_kpi, kpi_key, show, title
from commands.kpi_words import WeekAsked, week_at
from commands import kpi_words
from commands.reply import Chart, Reply, UsageError
from metrics import weeks
from metrics.benchmark import Benchmark, benchmark, percentile, percentile_without
from metrics.kpis import BY_KEY, KPIS
from storage.kpi_cache import KpiReads
from storage.queries import KpiHistory, WeekValues, data_weeks, kpi_report, team_codes, team_names

READS_ONLY = True  # answered in a read-only transaction (commands.dispatch)
TREND_WEEKS = 26
ALL_WORDS = frozenset({"all", "alle"})
SHARE_WORDS = frozenset({"share", "del", "dele", "vis"})
MAX_TEXT = 300  # characters; the longest sensible question is under 60

EXAMPLES = (
    ("/kpi", N_("this week's card for your team")),
    ("/kpi sygefravær", N_("sick leave over 26 weeks, with the other teams")),
    ("/kpi brugertid alle", N_("every team's productivity last week")),
    ("/kpi HAD-C uge 45 share", N_("another team's card for week 45, shown to the channel")),
)


@dataclass(frozen=True)
class KpiArgs:
    kpi: str | None = None
    words: tuple[str, ...] = ()  # other words: a team code, or a mistake; told apart when handled
    week: WeekAsked | None = None  # the year of "uge 45" is chosen when handled
    all_teams: bool = False
    share: bool = False


def parse(text: str) -> KpiArgs:
    """The words of ``/kpi``, in one pass (each word is looked at a bounded number of times)."""
    if len(text) > MAX_TEXT:
        raise UsageError(N_("That is too long for /kpi: {length} characters, at most {limit}. "
                            "Try /teampuls help."), length=len(text), limit=MAX_TEXT)
    words = text.split()
    found: dict[str, object] = {}
    other: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        lower = word.casefold()
        # KPI names, longest first ("sick leave" before "sick")
        for size in range(min(LONGEST_NAME, len(words) - i), 0, -1):
            key = kpi_key(" ".join(words[i:i + size]))
            if key:
                _once(found, "kpi", key, " ".join(words[i:i + size]))
                i += size
                break
        else:
            if lower in ALL_WORDS:
                found["all_teams"] = True
            elif lower in SHARE_WORDS:
                found["share"] = True
            else:
                asked, size = week_at(words, i)
                if asked is not None:
                    _once(found, "week", asked, word)
                    i += size - 1
                else:
                    other.append(word)
            i += 1
    if other:
        found["words"] = tuple(other)
    return KpiArgs(**found)


def _once(found: dict, name: str, value: object, word: str) -> None:
    if name in found:
        if name == "kpi":
            raise UsageError(N_("Name one key figure only."))
        raise UsageError(N_("Name one week only."))
    found[name] = value


# -- answering --------------------------------------------------------------------------------

def handle(args: KpiArgs, ctx: Context) -> Reply:
    teams = team_names(ctx.reads.fetch) if args.words else []
    codes = [code for code, _name in teams]
    team = named_team(args, ctx, teams)
    week = chosen_week(args, ctx)
    if args.all_teams:
        if args.kpi is None:
            raise UsageError(N_("Name the key figure to compare, e.g. /kpi sygefravær alle"))
        return _comparison(args.kpi, team, week, args.share, ctx)
    if team is None:
        raise no_team_error(ctx, codes or team_codes(ctx.reads.fetch))
    if args.kpi is None:
        return _card(team, week, args.share, ctx)
    return _trend(args.kpi, team, week, args.share, ctx)


def warm(reads: KpiReads, now) -> None:
    """Read what every team's answers share in the last complete week, so that the first
    questions after a start or an import find it in the cache: the week and the week before
    (cards), and each KPI over the trend's weeks and in the week (trends, comparisons)."""
    week = weeks.last_complete(now.date())
    reads.week_values(week)
    reads.week_values(week - 1)
    for kpi in KPIS:
        reads.history(kpi.key, week - TREND_WEEKS + 1, week)
        reads.history(kpi.key, week, week)


def named_team(args: KpiArgs, ctx: Context, teams: list[tuple[str, str]]) -> str | None:
    """The team the words name (its code or name), else the team of the channel or user; a word
    that is neither a team nor anything else known gets a "did you mean"."""
    import difflib

    by_fold = {code.casefold(): code for code, _name in teams}
    named, left = kpi_words.named_teams(args.words, teams)
    for word in left:
        kpi = closest_kpi(word)
        if kpi is not None:
            raise UsageError(N_("I don't know {word}. Did you mean {suggestion}?"),
                             word=word, suggestion=title(kpi, ctx.tr).lower())
        near = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=0.6)
        if near:
            raise UsageError(N_("I don't know {word}. Did you mean {suggestion}?"),
                             word=word, suggestion=by_fold[near[0]])
        raise UsageError(N_("I don't know the word {word}. Try /teampuls help."), word=word)
    if len(set(named)) > 1:
        raise UsageError(N_("Name one team only."))
    if named:
        return named[0]
    return ctx.team.code if ctx.team is not None else None


def no_team_error(ctx: Context, codes: list[str]) -> UsageError:
    known = ", ".join(codes) or "–"
    if len(ctx.user_teams) > 1:
        return UsageError(N_("You are in more than one team ({teams}); name one, e.g. /kpi {example}"),
                          teams=", ".join(t.code for t in ctx.user_teams),
                          example=ctx.user_teams[0].code)
    return UsageError(N_("This channel is not linked to a team, and you are not in a team's "
                         "channel. Name a team, e.g. /kpi {example} (teams: {teams})"),
                      example=codes[0] if codes else "HAD-C", teams=known)


def chosen_week(args: KpiArgs, ctx: Context) -> int:
    return kpi_words.chosen_week(args.week, weeks.last_complete(ctx.now.date()))


def data_range_text(fetch, team: str | None, tr: Translator) -> str:
    """Which weeks have data (of the team, or of any team), or that none have yet."""
    found = data_weeks(fetch, team)
    if found is None:
        return tr("No data has been imported yet: see teampuls import.")
    first, last = (tr.week(weeks.label(w)) for w in found)
    if team is None:
        return tr("Data from {first} to {last}.").format(first=first, last=last)
    return tr("Team {team} has data from {first} to {last}.").format(team=team, first=first,
                                                                     last=last)


def _filename(*parts: object) -> str:
    return "teampuls-" + "-".join(str(p) for p in parts) + ".png"


def card(team: str, week: int, ctx: Context) -> Reply:
    """The card without its image."""
    return _card(team, week, False, ctx, with_chart=False)


def _card(team: str, week: int, share: bool, ctx: Context, with_chart: bool = True) -> Reply:
    """The KPI card of a team's week; ``with_chart`` False leaves the image out (App Home)."""
    tr = ctx.tr
    reads = ctx.reads
    values = reads.week_values(week)  # serves the card, the benchmark and the chart
    report = kpi_report(reads.fetch, team, week, values)
    previous = kpi_report(reads.fetch, team, week - 1, reads.week_values(week - 1))
    week_text = tr.week(weeks.label(week))
    heading = tr("*Team {team}*, {week}").format(team=team, week=week_text)
    if not report.has_data:
        return Reply(heading + "\n" + tr("No data for this week.") + " "
                     + data_range_text(reads.fetch, team, tr), share=share)
    fields = []
    for kpi in KPIS:
        key, value, b = kpi.key, report.values[kpi.key], report.benchmarks[kpi.key]
        change = from_last_week(key, value, previous.values[key], tr)
        lines = [show(key, value, tr) + (" " + change if change else "")]
        lines += [part for part in (norm_text(key, tr), others_text(key, team, values, b, tr))
                  if part]
        if b.rank is not None:
            lines.append(tr("rank {rank} of {of}").format(rank=b.rank, of=b.of))
        fields.append((title(key, tr), "\n".join(lines)))
    if not with_chart:
        return Reply(heading, tuple(fields), share=share)
    from charts.kpi_overview import overview_figure

    figure = overview_figure(
        values, team,
        titles={k.key: title(k.key, tr) for k in KPIS},
        formats={k.key: formatter(k.key, tr) for k in KPIS},
        norms={k.key: k.norm for k in KPIS},
        heading=tr("Team {team}, {week}").format(team=team, week=week_text),
        legend=legend_labels(team, tr))
    chart = Chart(ctx.draw(figure), _filename(team, weeks.label(week)),
                  tr("Team {team} among the other teams, {week}").format(team=team, week=week_text))
    return Reply(heading, tuple(fields), chart, share=share)


def _trend(key: str, team: str, week: int, share: bool, ctx: Context) -> Reply:
    from charts.kpi_trend import trend_figure

    tr = ctx.tr
    first = week - TREND_WEEKS + 1
    history = ctx.reads.history(key, first, week)
    own = history.values.get(team, {})
    bands = {}
    for w in range(first, week + 1):
        band = others_percentiles(history, team, w, (25, 50, 75))
        if band is not None:
            bands[w] = band
    name = title(key, tr)
    week_text = tr.week(weeks.label(week))
    value = own.get(week)
    text = tr("*{kpi}*, team {team}, {week}: {value}").format(
        kpi=name, team=team, week=week_text, value=show(key, value, tr))
    change = from_last_week(key, value, own.get(week - 1), tr)
    if change:
        text += " " + change
    if week in bands:
        text += "\n" + tr("Other teams: median {median}, middle half {low}–{high}").format(
            median=show(key, bands[week][1], tr), low=show(key, bands[week][0], tr),
            high=show(key, bands[week][2], tr))
    missing = [w for w in range(first, week + 1) if w not in own]
    if not own:
        text += "\n" + data_range_text(ctx.reads.fetch, team, tr)
    elif missing:
        text += "\n" + tr("No data in {count} of the {weeks} weeks.").format(
            count=len(missing), weeks=TREND_WEEKS)
    figure = trend_figure(
        list(range(first, week + 1)), own, bands, BY_KEY[key].norm,
        title=tr("{kpi}, team {team}").format(kpi=name, team=team),
        format_value=formatter(key, tr),
        week_label=lambda w: tr.week(weeks.label(w)).rsplit(" ", 1)[0],
        legend=legend_labels(team, tr) + (tr("no data"),))
    chart = Chart(ctx.draw(figure), _filename(team, key, weeks.label(week)),
                  tr("{kpi}, team {team}, the last {weeks} weeks").format(
                      kpi=name, team=team, weeks=TREND_WEEKS))
    return Reply(text, (), chart, share=share)


def _comparison(key: str, team: str | None, week: int, share: bool, ctx: Context) -> Reply:
    from charts.team_comparison import comparison_figure

    tr = ctx.tr
    values = {code: v for code, v in
              ctx.reads.history(key, week, week).of_week(week).items()
              if v is not None}
    name = title(key, tr)
    week_text = tr.week(weeks.label(week))
    if not values:
        return Reply(tr("*{kpi}*, {week}: no team has data.").format(kpi=name, week=week_text)
                     + " " + data_range_text(ctx.reads.fetch, None, tr), share=share)
    better = BY_KEY[key].better
    ordered = sorted(values.items(), key=lambda item: item[1], reverse=better == "higher")
    b = benchmark(values, team, better)
    text = tr("*{kpi}*, {week}: {count} teams, median {median}.").format(
        kpi=name, week=week_text, count=len(values),
        median=show(key, percentile(sorted(values.values()), 50), tr))
    if team in values:
        text += "\n" + tr("Team {team}: {value}").format(team=team, value=show(key, values[team], tr))
        if b.rank is not None:
            text += ", " + tr("rank {rank} of {of}").format(rank=b.rank, of=b.of)
    figure = comparison_figure(
        ordered, team, BY_KEY[key].norm,
        title=tr("{kpi}, {week}").format(kpi=name, week=week_text),
        format_value=formatter(key, tr), median_label=tr("median"), norm_label=tr("norm"))
    chart = Chart(ctx.draw(figure), _filename("all", key, weeks.label(week)),
                  tr("{kpi} of every team, {week}").format(kpi=name, week=week_text))
    return Reply(text, (), chart, share=share)


def others_percentiles(history: KpiHistory, team: str, week: int,
                       quantiles: tuple[float, ...]) -> tuple[float, ...] | None:
    """The other teams' percentiles of a KPI in a week; None when no other team has a value.
    (From the week's sorted values less the team's own: no list per team is built.)"""
    everyone = history.sorted_week(week)
    mine = history.values.get(team, {}).get(week)
    if len(everyone) - (mine is not None) < 1:
        return None
    return tuple(percentile_without(everyone, mine, q) for q in quantiles)


def formatter(key: str, tr: Translator):
    return lambda value: show(key, value, tr)


def legend_labels(team: str, tr: Translator) -> tuple[str, ...]:
    return (tr("team {team}").format(team=team), tr("other teams"), tr("middle half"),
            tr("median"), tr("norm"))


def from_last_week(key: str, value: float | None, before: float | None,
                   tr: Translator) -> str | None:
    """"(+1,2 pp from last week)", or None when either week has no value."""
    if value is None or before is None:
        return None
    return tr("({change} from last week)").format(change=change_text(key, value - before, tr))


def norm_text(key: str, tr: Translator) -> str | None:
    norm = BY_KEY[key].norm
    if norm is None:
        return None
    return tr("norm {low}–{high}").format(low=show(key, norm[0], tr), high=show(key, norm[1], tr))


def others_text(key: str, team: str, values: WeekValues, b: Benchmark,
                tr: Translator) -> str | None:
    """The other teams' median and range in the week, or None when none has a value."""
    others = [v for code, v in values[key].items() if code != team and v is not None]
    if not others:
        return None
    return tr("others: median {median}, range {low}–{high}").format(
        median=show(key, b.median, tr), low=show(key, min(others), tr),
        high=show(key, max(others), tr))


def change_text(key: str, delta: float, tr: Translator) -> str:
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    if BY_KEY[key].percent:
        return sign + tr("{points} pp").format(points=tr.decimal(abs(delta) * 100, 1))
    return sign + show(key, abs(delta), tr)
