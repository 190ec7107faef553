"""``/teampuls [help]`` — what the bot does and every command with an example; and
``/teampuls admin ...`` — team set-up from Slack, for the admins named in the settings:

- ``admin teams`` — every team with its channels, coaches and rapporters;
- ``admin link [new] TEAM [#channel]`` — link this (or that) channel to a team (``new``: a new
  team; without it a team code that does not exist is refused with the nearest one);
- ``admin unlink [#channel]`` — unlink this (or that) channel;
- ``admin coach|rapporter|back_office TEAM @user`` — give someone the role; ``admin remove
  coach|rapporter|back_office TEAM @user`` takes it away;
- ``admin schedule TEAM DAY HH:MM`` — when the team's weekly dashboard is posted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.context import Context
from commands.i18n import N_
from commands.kpi_names import TITLES
from commands.reply import Reply, UsageError
from storage.errors import TeamError

EXAMPLES = (
    ("/teampuls help", N_("this help")),
    ("/teampuls admin link HAD-C", N_("admins: link this channel to team HAD-C")),
    ("/teampuls admin coach HAD-C @Mette", N_("admins: make Mette coach of HAD-C")),
    ("/teampuls admin teams", N_("admins: every team with its channels and roles")),
    ("/teampuls admin schedule HAD-C mandag 07:00",
     N_("admins: when team HAD-C gets its weekly dashboard")),
)
# how the roles may be written after "admin" (and after "admin remove")
ROLE_WORDS = {"coach": "coach", "rapporter": "rapporter", "back_office": "back_office",
              "backoffice": "back_office", "back-office": "back_office"}
_MENTION = re.compile(r"^<[@#]([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class TeampulsArgs:
    admin: tuple[str, ...] | None = None  # the words after "admin"; None: help


def parse(text: str) -> TeampulsArgs:
    words = text.split()
    if not words or words[0].casefold() in ("help", "hjælp", "hjelp", "?"):
        return TeampulsArgs()
    if words[0].casefold() == "admin":
        return TeampulsArgs(tuple(words[1:]))
    raise UsageError(N_("I don't know the word {word}. Try /teampuls help."), word=words[0])


def handle(args: TeampulsArgs, ctx: Context) -> Reply:
    if args.admin is None:
        return help_reply(ctx)
    if not ctx.admins:
        raise UsageError(N_("Only teampuls admins may set up teams, and none are set: whoever "
                            "runs teampuls lists their Slack user ids in TEAMPULS_ADMINS."))
    if ctx.request.user_id not in ctx.admins:
        raise UsageError(N_("Only teampuls admins may set up teams. Ask one of them: {admins}"),
                         admins=", ".join(f"<@{a}>" for a in sorted(ctx.admins)))
    try:
        return _admin(args.admin, ctx)
    except TeamError as error:
        if error.message is not None:  # said in the user's language
            raise UsageError(error.message, **error.params) from None
        raise UsageError(N_("That did not work: {reason}"), reason=str(error)) from None


def help_reply(ctx: Context) -> Reply:
    from commands import dispatch

    tr = ctx.tr
    lines = [tr("*teampuls* shows your team's key figures next to the other teams', every "
                "week and whenever you ask."), ""]
    for name, module in dispatch.COMMANDS.items():
        for example, what in module.EXAMPLES:
            lines.append(f"`{example}` — {tr(what)}")
    lines += ["", tr("Key figures: {names}").format(names=", ".join(
        tr(t) for t in TITLES.values())), tr("Add *share* to show the answer to the whole channel.")]
    return Reply("\n".join(lines))


def _admin(words: tuple[str, ...], ctx: Context) -> Reply:
    from storage import teams

    tr = ctx.tr
    action = words[0].casefold() if words else ""
    rest = words[1:]
    if action == "teams":
        listed = teams.list_teams(ctx.session)
        if not listed:
            return Reply(tr("No teams yet. Make one and link this channel to it: /teampuls admin "
                            "link new CODE"))
        lines = []
        for team in listed:
            channels = " ".join(f"<#{c.channel_id}>" for c in team.channels) or tr("no channel")
            coaches = " ".join(f"<@{u}>" for u in team.members_with("coach")) or "–"
            rapporters = " ".join(f"<@{u}>" for u in team.members_with("rapporter")) or "–"
            back_office = " ".join(f"<@{u}>" for u in team.members_with("back_office")) or "–"
            lines.append(tr("*{code}* {name}: {channels}; coach {coaches}; rapporter {rapporters}"
                            "; back office {back_office}")
                         .format(code=team.code, name=team.name, channels=channels,
                                 coaches=coaches, rapporters=rapporters,
                                 back_office=back_office))
        return Reply("\n".join(lines))
    create = action == "link" and len(rest) in (2, 3) and rest[0].casefold() in NEW_WORDS
    if create:
        rest = rest[1:]
    if action == "link" and len(rest) in (1, 2):
        channel = _id(rest[1], "#") if len(rest) == 2 else ctx.request.channel_id
        code = rest[0]
        if create:
            team = teams.add_team(ctx.session, code, teams.TeamChanges())
        else:
            team = _existing_team(ctx, code)
        teams.edit_team(ctx.session, team, teams.TeamChanges(add_channels=(channel,)))
        return Reply(tr("<#{channel}> is now the channel of team {team}.").format(
            channel=channel, team=team.code), sync_channels=(channel,))
    if action == "unlink" and len(rest) in (0, 1):
        channel = _id(rest[0], "#") if rest else ctx.request.channel_id
        team = teams.team_of_channel(ctx.session, channel)
        if team is None:
            raise UsageError(N_("<#{channel}> is not linked to a team."), channel=channel)
        teams.edit_team(ctx.session, team, teams.TeamChanges(remove_channels=(channel,)))
        return Reply(tr("<#{channel}> is no longer the channel of team {team}.").format(
            channel=channel, team=team.code))
    if action in ROLE_WORDS and len(rest) == 2:
        role = ROLE_WORDS[action]
        team = teams.get_team(ctx.session, rest[0])
        user = _id(rest[1], "@")
        teams.edit_team(ctx.session, team, teams.TeamChanges(add_roles=((role, user),)))
        return Reply(tr("<@{user}> is now {role} of team {team}.").format(
            user=user, role=tr(ROLE_TITLES[role]), team=team.code))
    if action == "remove" and len(rest) == 3 and rest[0].casefold() in ROLE_WORDS:
        role = ROLE_WORDS[rest[0].casefold()]
        team = teams.get_team(ctx.session, rest[1])
        user = _id(rest[2], "@")
        teams.edit_team(ctx.session, team, teams.TeamChanges(remove_roles=((role, user),)))
        return Reply(tr("<@{user}> is no longer {role} of team {team}.").format(
            user=user, role=tr(ROLE_TITLES[role]), team=team.code))
    if action == "schedule" and len(rest) == 3:
        from metrics.posting_schedule import ScheduleError, parse_time, parse_weekday

        team = teams.get_team(ctx.session, rest[0])
        try:
            weekday, time = parse_weekday(rest[1]), parse_time(rest[2])
        except ScheduleError:
            raise UsageError(N_("Write the day and time as e.g. /teampuls admin schedule {team} "
                                "mandag 07:00."), team=team.code) from None
        teams.edit_team(ctx.session, team, teams.TeamChanges(post_weekday=weekday,
                                                             post_time=f"{time:%H:%M}"))
        return Reply(tr("Team {team} gets its weekly dashboard every {day} at {time} ({zone}).")
                     .format(team=team.code, day=tr.weekday(weekday), time=f"{time:%H:%M}",
                             zone=team.timezone or tr("the default time zone")))
    raise UsageError(N_("Admin commands: {commands}"), commands=" · ".join((
        "teams", "link [new] TEAM [#channel]", "unlink [#channel]", "coach TEAM @user",
        "rapporter TEAM @user", "back_office TEAM @user",
        "remove coach|rapporter|back_office TEAM @user", "schedule TEAM DAY HH:MM")))


NEW_WORDS = frozenset({"new", "ny", "nyt", "nytt"})


def _existing_team(ctx: Context, code: str):
    """The team of a code typed by an admin; a typo is refused with the teams that exist and
    the nearest, rather than made into a new team."""
    import difflib

    from storage import teams

    if teams.looks_like_national_id(code):  # never echoed
        raise TeamError(f"the team code {teams.NATIONAL_ID}")
    known = [t.code for t in teams.list_teams(ctx.session)]
    by_fold = {c.casefold(): c for c in known}
    if code.casefold() in by_fold:
        return teams.get_team(ctx.session, by_fold[code.casefold()])
    near = difflib.get_close_matches(code.casefold(), list(by_fold), n=1, cutoff=0.5)
    if near:
        raise UsageError(N_("There is no team {code}; did you mean {near}? Teams: {teams}. "
                            "To make a new team, write /teampuls admin link new {code}."),
                         code=code, near=by_fold[near[0]], teams=", ".join(known))
    raise UsageError(N_("There is no team {code} (teams: {teams}). To make a new team, write "
                        "/teampuls admin link new {code}."), code=code,
                     teams=", ".join(known) or "–")


ROLE_TITLES = {"coach": N_("coach"), "rapporter": N_("rapporter"),
               "back_office": N_("back office")}  # translated where shown


def _id(word: str, sigil: str) -> str:
    """A Slack id from an escaped mention (``<@U123|mette>``, ``<#C123|team-a>``) or a bare id."""
    match = _MENTION.match(word)
    return match.group(1) if match else word.lstrip(sigil)
