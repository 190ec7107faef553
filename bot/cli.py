"""The ``teampuls`` command line.

Heavy libraries (pandas, Alembic, Babel) are imported inside the commands that need them, so
that quick commands such as ``teampuls kpi --json`` start fast.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sys

import click

from bot.edge import Edge, from_environment
from commands.i18n import LANGUAGES

KIND_NAMES = ("staff", "hours", "visits", "norms")


class UserError(click.ClickException):
    """A clear one-line error for the person at the terminal; exit code 1."""


def _edge(ctx: click.Context) -> Edge:
    return ctx.find_object(Edge)


def _known_errors() -> tuple[type[Exception], ...]:
    from bot.settings import SettingsError
    from metrics.posting_schedule import ScheduleError
    from metrics.weeks import WeekError
    from storage.errors import CitizenRefError, DatabaseError, SeriesFileError, TeamError

    return (SettingsError, DatabaseError, TeamError, WeekError, ScheduleError, SeriesFileError,
            CitizenRefError)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _known_errors() as error:
            raise UserError(str(error)) from error


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", metavar="URL",
              help="Database to use instead of DATABASE_URL (e.g. sqlite:///teampuls.db).")
@click.option("--env-file", metavar="PATH", help="Read settings from this file instead of .env.")
@click.version_option(package_name="teampuls")
@click.pass_context
def teampuls(ctx: click.Context, database_url: str | None, env_file: str | None) -> None:
    """teampuls: key figures, benchmarks and goals for self-managing home-care teams."""
    if ctx.obj is None:
        ctx.obj = from_environment(env_file, database_url)
    elif database_url:
        import dataclasses

        ctx.obj = dataclasses.replace(ctx.obj, settings=dataclasses.replace(
            ctx.obj.settings, database_url=database_url))


# -- db ---------------------------------------------------------------------------------------

@teampuls.group()
def db() -> None:
    """Look after the database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the database schema up to date (also done on every start)."""
    edge = _edge(ctx)
    from storage.database import current_revision
    from storage.schema_revision import head_revision

    edge.engine  # noqa: B018 - opening the engine upgrades the schema
    click.echo(f"The database is at revision {current_revision(edge.engine)} "
               f"(newest: {head_revision()}).")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=pathlib.Path))
@click.pass_context
def db_backup(ctx: click.Context, path: pathlib.Path) -> None:
    """Back up the SQLite database to PATH, safely while the bot runs (SQLite's online
    backup). PATH is replaced whole. For PostgreSQL, use pg_dump."""
    from bot.backup import backup

    revision = backup(_edge(ctx).settings.database_url, path)
    click.echo(f"Backed up the database (schema revision {revision}) to {path} "
               f"({path.stat().st_size:,} bytes).")


@db.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=pathlib.Path))
@click.option("--yes", is_flag=True, help="Do not ask first.")
@click.pass_context
def db_restore(ctx: click.Context, path: pathlib.Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH (made by teampuls db backup).

    Stop the bot first. The backup is checked first: a teampuls database, intact, with a
    schema this version knows (an older one is brought up to date on the next start). For
    PostgreSQL, use pg_restore."""
    from sqlalchemy import create_engine

    from bot.backup import check_backup, restore, sqlite_path
    from storage.shadow import import_turn

    url = _edge(ctx).settings.database_url
    target = sqlite_path(url, "restore")
    revision = check_backup(path)
    if not yes:
        click.confirm(f"Replace everything in {target} with the backup {path} (schema revision "
                      f"{revision})? Stop the bot first", abort=True)
    lock_engine = create_engine(url)  # names the lock file only; never connects
    with import_turn(lock_engine):  # not in the middle of an import, an erase or an export
        restore(path, url)
    click.echo(f"Restored {path} into {target} (schema revision {revision}).")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask first.")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str, yes: bool) -> None:
    """Step the schema down to REVISION (a file name's number in storage/migrations/versions),
    before installing an older version. What the later migrations added is dropped, with its
    data."""
    from bot.backup import revisions
    from storage.database import current_revision, make_engine

    known = revisions()
    if revision not in known:
        raise UserError(f"{revision!r} is not a schema revision; this version knows "
                        f"{known[0]} to {known[-1]}")
    engine = make_engine(_edge(ctx).settings.database_url)  # not upgraded first
    try:
        current = current_revision(engine)
        if current is None or current <= revision:
            raise UserError(f"the database is at revision {current or 'none'}, not above "
                            f"{revision}: nothing to step down")
        if not yes:
            click.confirm(f"Step the schema down from {current} to {revision}? The later "
                          "migrations' tables and columns are dropped, with their data",
                          abort=True)
        from alembic import command

        from storage.database import alembic_config

        command.downgrade(alembic_config(engine), revision)
        click.echo(f"The database is at revision {current_revision(engine)}.")
    finally:
        engine.dispose()


# -- import -----------------------------------------------------------------------------------

@teampuls.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[KIND] FILE... | DIR")
@click.option("--watch", is_flag=True, help="Keep watching DIR and import each set of exports "
              "that arrives.")
@click.option("--settle", type=click.FloatRange(min=0), default=60.0, show_default=True,
              metavar="SECONDS", help="With DIR: a set is imported once none of its files has "
              "changed for this long.")
@click.option("--expect-every", metavar="SPAN", help="With DIR: tell the admins when no set "
              "has arrived for longer than this (e.g. 7d, 36h); once per silence.")
@click.option("--every", type=click.FloatRange(min=0), default=30.0, show_default=True,
              metavar="SECONDS", help="With --watch: seconds between polls.")
@click.option("--polls", type=click.IntRange(min=1), metavar="N",
              help="With --watch: stop after N polls (default: never).")
@click.pass_context
def import_(ctx: click.Context, args: tuple[str, ...], watch: bool, settle: float,
            expect_every: str | None, every: float, polls: int | None) -> None:
    """Import exports (CSV or XLSX) as the data contract describes.

    KIND is staff, hours, visits or norms; without it each file's kind is recognised from its
    header. All files are imported in one transaction: if any row is refused, every error is
    listed with file, line and column, nothing is written, and the exit code is 1.

    With a folder DIR, the export files directly in it (*.csv, *.xlsx) are one set, imported
    once none of them has changed for --settle seconds, then moved to DIR/done/TIME/ or, when
    refused, to DIR/failed/TIME/ with errors.txt; --watch keeps doing so every --every seconds.
    """
    edge = _edge(ctx)
    folder = pathlib.Path(args[0]) if len(args) == 1 else None
    if watch or (folder is not None and folder.is_dir()):
        _import_folder(ctx, args, watch=watch, settle=settle, expect_every=expect_every,
                       every=every, polls=polls)
        return
    if expect_every or polls:
        raise UserError("--expect-every and --polls are for a folder: teampuls import "
                        "[--watch] DIR")
    kind = None
    if args[0] in KIND_NAMES:
        kind, args = args[0], args[1:]
    if not args:
        raise click.UsageError("name at least one FILE to import")
    paths = [pathlib.Path(a) for a in args]

    from storage.importers.runner import ImportRefused, import_files

    total = sum(p.stat().st_size for p in paths if p.is_file())
    try:
        with _progress(total) as progress:
            result = import_files(edge.sessions, [(p, kind) for p in paths],
                                  max_bytes=edge.settings.import_max_bytes, progress=progress)
    except ImportRefused as refused:
        for line in refused.lines():
            click.echo(line, err=True)
        raise UserError(str(refused)) from None
    click.echo(_import_summary(result, len(paths)))


def _import_folder(ctx: click.Context, args: tuple[str, ...], *, watch: bool, settle: float,
                   expect_every: str | None, every: float, polls: int | None) -> None:
    """``import DIR`` (one poll) and ``import --watch DIR``; exits 1 when a set was refused."""
    import time

    from bot.import_watch import Watcher, gateway_for
    from storage.importers.watch import parse_duration

    if len(args) != 1 or not pathlib.Path(args[0]).is_dir():
        raise UserError(f"{' '.join(args)}: --watch takes one folder, not files or a KIND")
    try:
        span = parse_duration(expect_every) if expect_every else None
    except ValueError as error:
        raise UserError(f"--expect-every: {error}") from None
    edge = _edge(ctx)
    import logging

    if watch and not logging.getLogger().handlers:  # a service's log, not inside a test's
        from bot.logs import configure

        configure(edge.settings.log_level, edge.settings.log_format)
    watcher = Watcher(edge, pathlib.Path(args[0]), settle=settle, expect_every=span,
                      gateway=gateway_for(edge))
    if not watch:
        poll = watcher.poll()
        outcome = poll.outcome
        if outcome is None:
            waiting = len(poll.waiting)
            click.echo(f"No export set ready in {args[0]}" + (
                f": {waiting} file{'s' if waiting != 1 else ''} changed within the last "
                f"{settle:g} seconds (--settle)." if waiting else "."))
            return
        where = outcome.moved_to
        if outcome.failed:
            for line in outcome.refused.lines():
                click.echo(line, err=True)
            raise UserError(f"{outcome.refused}; the files and errors.txt are in {where}")
        click.echo(_import_summary(outcome.result, len(outcome.files)))
        click.echo(f"Moved to {where}.")
        return
    try:
        refused = watcher.run(polls, every, time.sleep)
    except KeyboardInterrupt:
        return
    if refused:
        ctx.exit(1)


@contextlib.contextmanager
def _progress(total: int):
    """A progress callback; files that take more than a moment get a bar on stderr."""
    if total <= 8 * 1024**2:
        yield None
        return
    with click.progressbar(length=total, label="Importing", file=sys.stderr, show_eta=True,
                           width=30) as bar:
        shown = 0

        def update(done: int, _total: int) -> None:
            nonlocal shown
            if done > shown:  # an import run again starts from 0: the bar waits for it
                bar.update(done - shown)
                shown = done

        yield update


def _import_summary(result, files: int) -> str:
    from metrics import weeks

    if result.unchanged:
        return (f"Nothing changed: {'these files were' if files != 1 else 'this file was'} "
                "imported last, with the same content, and no data has changed since "
                "(nothing written, the KPIs left as they are).")
    counts = ", ".join(f"{n:,} {kind} rows" for kind, n in result.rows.items())
    lines = [f"Imported {counts} from {files} file{'s' if files != 1 else ''}."]
    if result.teams:
        lines.append(f"Teams: {_some(sorted(result.teams))}.")
    if result.weeks:
        first, last = min(result.weeks), max(result.weeks)
        lines.append(f"Weeks: {weeks.label(first)} to {weeks.label(last)} "
                     f"({len(result.weeks)} week{'s' if len(result.weeks) != 1 else ''}).")
    lines.append(f"KPI values recomputed for {result.kpi_team_weeks:,} team-weeks.")
    if result.teams_created:
        lines.append(f"New teams, still without a Slack channel: {_some(result.teams_created)} "
                     "(link one with: teampuls team edit CODE --add-channel C0123ABCD).")
    return "\n".join(lines)


def _some(names: list[str], shown: int = 12) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


# -- kpi --------------------------------------------------------------------------------------

@teampuls.command()
@click.option("--team", "team_code", required=True, metavar="CODE",
              help="The team's code (any case) or name.")
@click.option("--week", metavar="WEEK", help="2026-W47, W47, 'uge 47', 'W47 2026' (as in /kpi); "
              "default: the last complete week.")
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON object.")
@click.option("--lang", type=click.Choice(LANGUAGES),
              help="Language of the table; default: the team's, else TEAMPULS_LANGUAGE.")
@click.pass_context
def kpi(ctx: click.Context, team_code: str, week: str | None, as_json: bool,
        lang: str | None) -> None:
    """Show a team's KPIs in a week, with the other teams as benchmark."""
    from commands.kpi_words import chosen_week, parse_week
    from commands.reply import UsageError
    from metrics import weeks
    from storage.queries import kpi_report, session_fetch
    from storage.quick_read import open_fetch

    edge = _edge(ctx)
    try:
        index = chosen_week(parse_week(week) if week else None, weeks.last_complete(edge.today))
        with open_fetch(edge.settings.database_url) as fetch:
            report = _kpi_report(fetch, team_code, index) if fetch else None
        if report is None:  # a new or outdated database: the full way creates or upgrades it
            with edge.reads.begin() as session:
                report = _kpi_report(session_fetch(session), team_code, index)
    except UsageError as error:
        from commands.i18n import Translator

        raise UserError(error.render(Translator(lang or edge.settings.language))) from None
    if as_json:
        click.echo(json.dumps({
            "team": report.team, "week": weeks.label(report.week), "kpis": report.values,
            "benchmark": {k: b.as_dict() for k, b in report.benchmarks.items()},
        }, ensure_ascii=False))
        return
    from commands.i18n import Translator
    from commands.kpi_table import render

    click.echo(render(report, Translator(lang or report.language or edge.settings.language)))


def _kpi_report(fetch, team: str, week: int):
    """The report of the team that ``--team`` names as /kpi would read it: a code in any case
    or a name; anything else is left to kpi_report, which names the known teams."""
    from commands.kpi_words import named_teams
    from storage.queries import kpi_report, team_names

    found, left = named_teams(team.split(), team_names(fetch))
    return kpi_report(fetch, found[0] if len(found) == 1 and not left else team, week)


# -- team -------------------------------------------------------------------------------------

@teampuls.group()
def team() -> None:
    """Set up teams: their Slack channels, coaches and rapporters."""


_team_options = [
    click.option("--name", help="The team's name as people know it."),
    click.option("--lang", type=click.Choice(LANGUAGES), help="The team's language."),
    click.option("--timezone", metavar="ZONE", help="IANA time zone, e.g. Europe/Oslo."),
    click.option("--post-day", metavar="DAY",
                 help="Day the weekly dashboard is posted: mon ... sun (default mon)."),
    click.option("--post-time", metavar="HH:MM",
                 help="Time of day, in the team's time zone, it is posted (default 07:00)."),
    click.option("--morning-time", metavar="HH:MM",
                 help="The team's morning: follow-up reminders go out from then (default 07:00)."),
]


def _schedule(post_day: str | None, post_time: str | None, morning_time: str | None) -> dict:
    """The posting day and time options as TeamChanges values (ScheduleError names a bad one)."""
    from metrics.posting_schedule import parse_time, parse_weekday

    return {"post_weekday": None if post_day is None else parse_weekday(post_day),
            "post_time": None if post_time is None else f"{parse_time(post_time):%H:%M}",
            "morning_time": None if morning_time is None else f"{parse_time(morning_time):%H:%M}"}


def _with(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@team.command("add")
@click.argument("code")
@_with(_team_options)
@click.option("--channel", multiple=True, metavar="C", help="Slack channel id to link (repeatable).")
@click.option("--coach", multiple=True, metavar="U", help="Slack user id of a coach (repeatable).")
@click.option("--rapporter", multiple=True, metavar="U",
              help="Slack user id of a rapporter (repeatable).")
@click.option("--back-office", multiple=True, metavar="U",
              help="Slack user id of the team's back office (repeatable).")
@click.pass_context
def team_add(ctx, code, name, lang, timezone, post_day, post_time, morning_time, channel,
             coach, rapporter, back_office) -> None:
    """Add the team CODE."""
    from storage.teams import TeamChanges, add_team

    changes = TeamChanges(name=name, language=lang, timezone=timezone, add_channels=channel,
                          **_schedule(post_day, post_time, morning_time),
                          add_roles=_roles(coach, rapporter, back_office))
    with _edge(ctx).sessions.begin() as session:
        created = add_team(session, code, changes)
        click.echo(_describe_team(created, _edge(ctx)))


@team.command("edit")
@click.argument("code")
@_with(_team_options)
@click.option("--add-channel", multiple=True, metavar="C", help="Link a Slack channel.")
@click.option("--remove-channel", multiple=True, metavar="C", help="Unlink a Slack channel.")
@click.option("--add-coach", multiple=True, metavar="U", help="Add a coach.")
@click.option("--remove-coach", multiple=True, metavar="U", help="Remove a coach.")
@click.option("--add-rapporter", multiple=True, metavar="U", help="Add a rapporter.")
@click.option("--remove-rapporter", multiple=True, metavar="U", help="Remove a rapporter.")
@click.option("--add-back-office", multiple=True, metavar="U", help="Add a back office user.")
@click.option("--remove-back-office", multiple=True, metavar="U",
              help="Remove a back office user.")
@click.pass_context
def team_edit(ctx, code, name, lang, timezone, post_day, post_time, morning_time, add_channel,
              remove_channel, add_coach, remove_coach, add_rapporter, remove_rapporter,
              add_back_office, remove_back_office) -> None:
    """Change the team CODE."""
    from storage.teams import TeamChanges, edit_team, get_team

    changes = TeamChanges(
        name=name, language=lang, timezone=timezone, add_channels=add_channel,
        **_schedule(post_day, post_time, morning_time),
        remove_channels=remove_channel,
        add_roles=_roles(add_coach, add_rapporter, add_back_office),
        remove_roles=_roles(remove_coach, remove_rapporter, remove_back_office))
    with _edge(ctx).sessions.begin() as session:
        changed = edit_team(session, get_team(session, code), changes)
        click.echo(_describe_team(changed, _edge(ctx)))


@team.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def team_list(ctx, as_json: bool) -> None:
    """List the teams, and which still need a Slack channel."""
    from storage.teams import list_teams

    edge = _edge(ctx)
    with edge.sessions.begin() as session:
        teams = [_team_dict(t, edge) for t in list_teams(session)]
    if as_json:
        click.echo(json.dumps(teams, ensure_ascii=False, indent=2))
        return
    if not teams:
        click.echo("No teams yet: import exports or add one with 'teampuls team add CODE'.")
        return
    for t in teams:
        channels = ", ".join(t["channels"]) or "NEEDS A CHANNEL"
        roles = "; ".join(f"{role}: {', '.join(t[key])}" for role, key in
                          (("coach", "coaches"), ("rapporter", "rapporters"),
                           ("back office", "back_office")) if t[key])
        click.echo(f"{t['code']:<10} {t['name']:<28} {t['language']}  {t['timezone']:<20} "
                   f"{t['posts']:<10} {channels}" + (f"  ({roles})" if roles else ""))


def _roles(coaches, rapporters, back_office) -> tuple[tuple[str, str], ...]:
    """(role, user) pairs from the options of each role."""
    return tuple((role, user) for role, users in (("coach", coaches), ("rapporter", rapporters),
                                                  ("back_office", back_office))
                 for user in users)


def _team_dict(team, edge: Edge) -> dict:
    from metrics.posting_schedule import WEEKDAYS, PostingTime

    zone = team.timezone or edge.settings.timezone
    when = PostingTime.of(team.post_weekday, team.post_time, zone)
    return {
        "code": team.code, "name": team.name,
        "language": team.language or edge.settings.language,
        "timezone": zone,
        "posts": f"{WEEKDAYS[when.weekday]} {when.time:%H:%M}",
        "channels": [c.channel_id for c in team.channels],
        "coaches": team.members_with("coach"), "rapporters": team.members_with("rapporter"),
        "back_office": team.members_with("back_office"),
        "needs_channel": not team.channels,
    }


def _describe_team(team, edge: Edge) -> str:
    t = _team_dict(team, edge)
    parts = [f"{t['code']}: {t['name']} ({t['language']}, {t['timezone']})",
             f"  weekly dashboard: {t['posts']} {t['timezone']}",
             f"  channels: {', '.join(t['channels']) or 'none yet (the team needs one)'}",
             f"  coaches: {', '.join(t['coaches']) or 'none'}",
             f"  rapporters: {', '.join(t['rapporters']) or 'none'}",
             f"  back office: {', '.join(t['back_office']) or 'none'}"]
    return "\n".join(parts)


# -- run and chat -----------------------------------------------------------------------------

@teampuls.command()
@click.option("--grace", default=5.0, show_default=True, type=click.FloatRange(0, 300),
              metavar="SECONDS", help="On SIGTERM or SIGINT: how long answers in hand may take "
              "to finish before the bot stops without them.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535),
              help="HTTP mode: the port to listen on.")
@click.option("--host", default=None, help="HTTP mode: the address to listen on [default: "
              "TEAMPULS_HTTP_HOST, 127.0.0.1].")
@click.pass_context
def run(ctx: click.Context, grace: float, port: int, host: str) -> None:
    """Start the Slack bot.

    Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP mode, serving Slack's requests on
    /slack/events (signed with SLACK_SIGNING_SECRET) and a health check on /healthz.
    SIGTERM or SIGINT (Ctrl-C) stops it: no new requests, the answers in hand get --grace
    seconds to finish, and the drawing processes end with it.
    """
    from bot.shutdown import Shutdown, Stop

    shutdown = Shutdown(grace)
    shutdown.install()
    started: dict = {"shutdown": shutdown}
    try:
        _run(ctx, port, host, started)
    except Stop:
        pass
    finally:
        shutdown.wind_down(scheduler=started.get("scheduler"), pools=started.get("pools", ()),
                           drawing=started.get("drawing"))
    if shutdown.signal is not None:
        shutdown.exit()


def _run(ctx: click.Context, port: int, host: str, started: dict) -> None:
    """``run`` itself; what needs ending at the stop goes into ``started`` as it starts."""
    import logging
    import sys
    import threading

    from bot.app import ACK_SWITCH_INTERVAL, create_app
    from bot.capacity_digest import CapacityDigest
    from bot.coach_alerts import CoachAlerts
    from bot.drawing import Drawing, workers
    from bot.gateway import Gateway, web_client
    from bot.reminders import Reminders, retention
    from bot.scheduler import Job, Scheduler
    from bot.server import (
        check_slack_settings,
        check_token,
        serve_http,
        serve_socket_mode,
    )

    import os

    from bot.settings import refuse_oauth

    edge = _edge(ctx)
    settings = edge.settings
    refuse_oauth(os.environ)  # slack-bolt reads them; teampuls serves one workspace
    from bot.logs import configure

    configure(settings.log_level, settings.log_format)
    log = logging.getLogger("teampuls")
    mode = check_slack_settings(settings)
    client = web_client(settings.slack_bot_token, settings.slack_api_base_url)
    identity = check_token(client)
    edge.engine  # noqa: B018 - open the database (and upgrade it) before the first command
    # Acknowledgements must not wait behind answers for Python's lock: hand it over every
    # millisecond instead of every five (the answers mostly wait on Slack and the drawing).
    sys.setswitchinterval(ACK_SWITCH_INTERVAL)
    with started["shutdown"].deferred():
        drawing = started["drawing"] = Drawing(workers())
    # HTTP requests are checked by bot.server.wsgi_app; Socket Mode's need no signature.
    app, bot = create_app(edge, Gateway(client), drawing, requests_checked=True)
    started["pools"] = (bot.answers, bot.fast)
    threading.Thread(target=bot.sync_members_logged, name="teampuls-members", daemon=True).start()
    bot.answers.submit(bot.warm_kpis)
    poster = _poster(edge, draw=drawing.png, cache=bot.kpis)
    reminders = Reminders(edge, poster.gateway)
    alerts = CoachAlerts(edge, poster.gateway, draw=drawing.png, poster=poster.poster)
    scheduler = started["scheduler"] = Scheduler([
        Job("weekly dashboard", POSTING_TICK_SECONDS, poster.run_and_log),
        Job("follow-up reminders", POSTING_TICK_SECONDS, reminders.run_due),
        Job("coach alerts", POSTING_TICK_SECONDS, alerts.when_due),
        Job("coach digests", POSTING_TICK_SECONDS, alerts.digests_when_due),
        Job("capacity digest", POSTING_TICK_SECONDS,
            CapacityDigest(edge, poster.gateway, poster=poster.poster).when_due),
        Job("retention", 24 * 3600, lambda: retention(edge, settings.retention_months)),
    ])
    scheduler.start()
    if edge.engine.dialect.name == "sqlite":
        log.info("SQLite: run one replica of the bot (several replicas need PostgreSQL)")
    click.echo(f"teampuls runs as {identity.get('user', '?')} in {identity.get('team', '?')} "
               f"({'Socket Mode' if mode == 'socket' else f'HTTP on port {port}'}).")
    if mode == "socket":
        serve_socket_mode(app, settings.slack_app_token)
    else:
        from bot.health import HealthCheck, database_check
        from bot.prometheus import exposition

        serve_http(app, settings, host or settings.http_host, port,
                   health=HealthCheck(database_check(edge.engine)),
                   metrics=exposition(edge.engine))


POSTING_TICK_SECONDS = 60


# -- drift ------------------------------------------------------------------------------------

@teampuls.group()
def drift() -> None:
    """The coaches' drift detector, on files."""


@drift.command("scan")
@click.argument("series_file", metavar="SERIES.csv", type=click.Path(dir_okay=False))
@click.option("--out", "out_file", required=True, metavar="ALERTS.csv",
              help="Where to write the alerts.")
def drift_scan(series_file: str, out_file: str) -> None:
    """Run the coaches' drift detector on a tidy series (columns team, metric, week, value;
    optional numerator, denominator) and write one row per alert: team, metric, week,
    direction, baseline, current, start_week."""
    from metrics import drift as detector
    from storage.series_files import read_series, write_alerts

    series = read_series(pathlib.Path(series_file), known_metrics=tuple(detector.METRICS))
    alerts = detector.scan(series)
    write_alerts(detector.alerts_frame(alerts), pathlib.Path(out_file))
    click.echo(f"{len(alerts)} alerts in {series['team'].nunique()} teams x "
               f"{series['metric'].nunique()} metrics; written to {out_file}.")


@teampuls.command("forecast")
@click.argument("series_file", metavar="SERIES.csv", type=click.Path(dir_okay=False))
@click.option("--horizon", default=8, show_default=True, type=click.IntRange(1, 52),
              help="Weeks to forecast after each series' last week.")
@click.option("--out", "out_file", required=True, metavar="FORECAST.csv",
              help="Where to write the forecasts.")
def forecast_command(series_file: str, horizon: int, out_file: str) -> None:
    """Forecast weekly hours per team and professional group (columns team, profession,
    week, hours) with 80 % prediction intervals: one row per team, profession and week with
    forecast, lower and upper."""
    import numpy as np
    import pandas as pd

    from metrics import forecast, weeks
    from storage.csv_output import write_csv
    from storage.series_files import read_series

    series = read_series(pathlib.Path(series_file), ("team", "profession", "week", "hours"))
    rows = []
    for (team_code, profession), part in series.groupby(["team", "profession"], sort=True):
        part = part.set_index("week")["hours"]
        span = range(int(part.index.min()), int(part.index.max()) + 1)
        values = part.reindex(span).to_numpy(dtype=float)
        try:
            made = forecast.forecast(values, np.arange(span.start, span.stop), horizon)
        except ValueError as error:
            raise click.ClickException(f"{team_code} {profession}: {error}") from None
        rows += [{"team": team_code, "profession": profession, "week": weeks.label(int(w)),
                  "forecast": m, "lower": lo, "upper": hi}
                 for w, m, lo, hi in zip(made.weeks, made.mean, made.lower, made.upper,
                                         strict=True)]
    write_csv(pd.DataFrame(rows, columns=["team", "profession", "week", "forecast", "lower",
                                          "upper"]), out_file, float_format="%.3f")
    click.echo(f"Forecast {horizon} weeks of {series.groupby(['team', 'profession']).ngroups} "
               f"series; written to {out_file}.")


# -- citizen ----------------------------------------------------------------------------------

@teampuls.group()
def citizen() -> None:
    """Everything about one citizen: a subject access request, or erasure."""


@citizen.command("export")
@click.argument("ref")
@click.option("--out", "out_file", metavar="FILE", help="Write the JSON here instead of stdout.")
@click.pass_context
def citizen_export(ctx, ref: str, out_file: str | None) -> None:
    """Write everything teampuls holds about the citizen REF as JSON: goals with their
    history, follow-ups and visits (under REF and any look-alike of it that differs only by
    invisible characters, the kind of dash or space, or fullwidth forms), and the texts of
    other citizens' goals and follow-ups that mention REF (review those before handing the
    export over: they are about someone else too)."""
    from storage import goals
    from storage.shadow import clear_leftovers, import_turn

    edge = _edge(ctx)
    # A killed import may have left a copy of visits beside the table (storage.shadow): it
    # goes first, so that the export is all there is.
    with import_turn(edge.engine):
        clear_leftovers(edge.engine)
    with edge.sessions.begin() as session:
        data = goals.citizen_data(session, ref)
        goals.audit(session, edge.current(), "cli", "export", "citizen", None, None)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out_file:
        pathlib.Path(out_file).write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {len(data['goals'])} goals, {len(data['follow_ups'])} follow-ups, "
                   f"{len(data['visits'])} visits of {ref} and {len(data['mentions'])} mentions "
                   f"in other texts to {out_file}.")
    else:
        click.echo(text)


@citizen.command("erase")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def citizen_erase(ctx, ref: str, yes: bool) -> None:
    """Delete everything about the citizen REF: goals, their history, follow-ups and visits
    (the KPIs of the weeks concerned are recomputed), under REF and any look-alike of it; in
    other citizens' goals and follow-ups (and their history) each mention of REF is replaced
    by [erased]."""
    from storage import goals
    from storage.kpi_refresh import refresh_team_weeks
    from storage.shadow import clear_leftovers, import_turn

    edge = _edge(ctx)
    if not yes:
        with edge.reads.begin() as session:
            redacted = goals.texts_to_redact(session, ref)
        click.confirm(f"Erase everything about {ref} and redact {redacted} mentions in other "
                      "texts? This cannot be undone", abort=True)
    # Imports build visits anew beside the table (storage.shadow): an erase waits for one, and
    # removes the copies a killed one left (the citizen's rows are in them too).
    with import_turn(edge.engine):
        clear_leftovers(edge.engine)
        with edge.sessions.begin() as session:
            erased = goals.erase_citizen(session, ref)
            team_weeks = erased.pop("team_weeks")
            if team_weeks:
                targets = team_weeks | {(team, week + 1) for team, week in team_weeks}
                refresh_team_weeks(session.connection(), targets)
            goals.audit(session, edge.current(), "cli", "erase", "citizen", None, None)
    click.echo(f"Erased {ref}: " + ", ".join(f"{n} {kind.replace('_', ' ')}"
                                              for kind, n in erased.items()) + ".")


def _poster(edge: Edge, **options):
    """The weekly dashboard's poster, with a Web API client of its own: it waits out 429s as
    often as Slack asks, paces its calls within Slack's limits, and handles server errors
    itself (a blind retry of a post could post twice)."""
    from bot.gateway import Gateway, web_client
    from bot.rate_limits import Pacer
    from bot.weekly_dashboard import WeeklyPoster

    settings = edge.settings
    client = web_client(settings.slack_bot_token, settings.slack_api_base_url,
                        rate_limit_retries=20, connection_retries=0)
    return WeeklyPoster(edge, Gateway(client, Pacer()), **options)


@teampuls.command("post-weekly")
@click.option("--team", "team_codes", multiple=True, metavar="CODE",
              help="Only this team (repeatable); default every team.")
@click.option("--week", metavar="WEEK", help="ISO week, e.g. 2026-W47; default the last "
              "complete week.")
@click.option("--dry-run", is_flag=True, help="Write each dashboard to --out instead of posting.")
@click.option("--out", "out_dir", metavar="DIR",
              help="With --dry-run: the folder for CODE.png and CODE.json.")
@click.pass_context
def post_weekly(ctx, team_codes: tuple[str, ...], week: str | None, dry_run: bool,
                out_dir: str | None) -> None:
    """Post the weekly dashboard now, in each team's channel.

    A dashboard posted already (by the schedule or an earlier run) is not posted again; one
    that failed or was skipped is tried again. With --dry-run, each team's image and Slack
    message are written to DIR and nothing is sent.
    """
    from bot.weekly_dashboard import write_dashboards
    from metrics import weeks

    edge = _edge(ctx)
    chosen = weeks.parse(week) if week else weeks.last_complete(edge.today)
    codes = list(team_codes) or None
    if dry_run:
        if not out_dir:
            raise click.BadOptionUsage("out_dir", "--dry-run needs --out DIR, the folder to "
                                       "write to")
        written = write_dashboards(edge, codes, chosen, pathlib.Path(out_dir))
        click.echo(f"Wrote {len(written)} files for {weeks.label(chosen)} to {out_dir}/ "
                   "(nothing was posted).")
        return
    if out_dir:
        raise click.BadOptionUsage("out_dir", "--out is for --dry-run; without it the "
                                   "dashboards are posted")
    from bot.server import check_token
    from bot.settings import SettingsError

    if not edge.settings.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set; use --dry-run --out DIR to see the "
                            "dashboards without Slack")
    poster = _poster(edge)
    check_token(poster.gateway.client)
    outcomes = poster.post(codes, chosen)
    for outcome in outcomes:
        click.echo(outcome.describe())
    from bot.weekly_dashboard import POSTED

    posted = sum(o.result in POSTED for o in outcomes)
    skipped = sum(o.result == "skipped" for o in outcomes)
    pending = sum(o.result == "pending" for o in outcomes)
    click.echo(f"{posted} of {len(outcomes)} dashboards for {weeks.label(chosen)} are posted"
               + (f"; {skipped} skipped" if skipped else "")
               + (f"; {pending} pending (claimed by another poster, tried again when said "
                  "above)" if pending else "") + ".")
    if posted + skipped < len(outcomes):
        ctx.exit(1)


@teampuls.command()
@click.option("--as", "user", default="U0CONSOLE1", show_default=True, metavar="USER",
              help="Slack user id to ask as (admin commands need one listed in TEAMPULS_ADMINS).")
@click.option("--channel", default="C0CONSOLE1", show_default=True, metavar="CHANNEL",
              help="Slack channel id to ask in; a channel linked to a team answers for that team.")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Answer in this language (as a Slack locale would).")
@click.option("--charts", "charts_dir", default="teampuls-charts", show_default=True,
              metavar="DIR", help="Folder to save charts in.")
@click.option("-c", "--command", "commands_", multiple=True, metavar="LINE",
              help="Run this line (e.g. '/kpi sick') and exit; repeatable. Without it, "
                   "lines are read from the terminal.")
@click.pass_context
def chat(ctx: click.Context, user: str, channel: str, lang: str | None, charts_dir: str,
         commands_: tuple[str, ...]) -> None:
    """Try the bot's commands without Slack.

    Type a command as in Slack (/kpi, /kpi sygefravær, /kpi brugertid alle, /teampuls help);
    replies print as text and charts are saved as PNG files. Type exit to leave.
    """
    from bot.console import PROMPT
    from bot.console import chat as run_chat

    edge = _edge(ctx)
    if commands_:
        lines = iter(commands_)
    else:
        interactive = sys.stdin.isatty()
        if interactive:
            click.echo("Commands as in Slack: /kpi, /kpi sick, /kpi productivity all, "
                       "/teampuls help; exit to leave.")
        lines = _typed_lines(PROMPT if interactive else "")
    run_chat(edge, lines, click.echo, user=user, channel=channel, locale=lang,
             charts=pathlib.Path(charts_dir))


def _typed_lines(prompt: str):
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return


# -- demo -------------------------------------------------------------------------------------

@teampuls.command()
@click.option("--database", "database", default="teampuls-demo.db", show_default=True,
              metavar="PATH", help="SQLite file to create afresh for the demo (an existing "
              "file is replaced only if an earlier demo made it, or with --force).")
@click.option("--force", is_flag=True, help="Replace --database even if it is not a demo's.")
@click.option("--export", "export_dir", metavar="DIR",
              help="Only write the demo's CSV exports to DIR; import nothing.")
@click.option("--teams", default=6, show_default=True, type=click.IntRange(2, 1000))
@click.option("--weeks", "n_weeks", default=104, show_default=True, type=click.IntRange(2, 520))
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed.")
@click.option("--dashboards", "dashboards_dir", default="teampuls-demo-dashboards",
              show_default=True, metavar="DIR",
              help="Folder for each team's weekly dashboard (image and Slack message).")
@click.pass_context
def demo(ctx, database: str, force: bool, export_dir: str | None, teams: int, n_weeks: int,
         seed: int, dashboards_dir: str) -> None:
    """Make realistic demo exports and import them into a fresh SQLite database.

    The exports cover TEAMS teams over the last WEEKS complete weeks; they are imported through
    the real importers, this week's KPIs are shown, and each team's weekly dashboard is written
    to DIR. An existing --database file is replaced only if an earlier demo made it (or with
    --force).
    """
    import dataclasses
    import tempfile

    from metrics import weeks
    from storage.demo_exports import DemoShape, generate, is_demo_database, mark_demo, team_codes

    edge = _edge(ctx)
    target = pathlib.Path(database)
    if not export_dir and target.exists() and not force and not is_demo_database(target):
        raise UserError(f"{target} exists and is not a teampuls demo database: the demo "
                        "would replace it. Name another file with --database, or give "
                        "--force to replace it.")
    last = weeks.last_complete(edge.today)
    exports = generate(weeks.monday(last), DemoShape(teams=teams, weeks=n_weeks, seed=seed))
    if export_dir:
        paths = exports.write(pathlib.Path(export_dir))
        click.echo(f"Wrote {', '.join(str(p) for p in paths)}.")
        click.echo(f"Import them with: teampuls import {' '.join(str(p) for p in paths)}")
        return

    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(f"{target}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{target}"
    demo_edge = dataclasses.replace(edge, settings=dataclasses.replace(
        edge.settings, database_url=url))
    from storage.importers.runner import ImportRefused, run_import
    from storage.teams import TeamChanges, add_team

    codes = team_codes(teams)
    with tempfile.TemporaryDirectory() as folder:
        paths = exports.write(pathlib.Path(folder))
        try:
            with demo_edge.sessions.begin() as session:
                for code, name in codes:
                    add_team(session, code, TeamChanges(name=name))
                result = run_import(session, [(p, None) for p in paths],
                                    max_bytes=edge.settings.import_max_bytes)
                mark_demo(session, f"teampuls demo: {teams} teams, {n_weeks} weeks, seed {seed}")
        except ImportRefused as refused:  # reported as `teampuls import` reports it
            for line in refused.lines():
                click.echo(line, err=True)
            raise UserError(str(refused)) from None
    click.echo(f"Demo database {target}: {teams} teams over {n_weeks} weeks.")
    click.echo(_import_summary(result, len(paths)))
    click.echo("")
    from commands.i18n import Translator
    from commands.kpi_table import render
    from storage.queries import kpi_report, session_fetch

    first_code, second_code = codes[0][0], codes[1][0]
    with demo_edge.sessions.begin() as session:
        report = kpi_report(session_fetch(session), first_code, last)
    click.echo(render(report, Translator(edge.settings.language)))
    click.echo("")
    from bot.weekly_dashboard import write_dashboards

    written = len(write_dashboards(demo_edge, [code for code, _ in codes], last,
                                   pathlib.Path(dashboards_dir)))
    click.echo(f"Each team's weekly dashboard for {weeks.label(last)}, as its rapporter gets it "
               f"(image and Slack message): {written} files in {dashboards_dir}/")
    click.echo("")
    click.echo("Try next:")
    prefix = f"teampuls --database-url {url}"
    click.echo(f"  {prefix} kpi --team {second_code} --lang en")
    click.echo(f"  {prefix} kpi --team {first_code} --week {weeks.label(last - 1)} --json")
    click.echo(f"  {prefix} team list")
    click.echo(f"  {prefix} chat -c '/kpi {first_code}' -c '/kpi sygefravær {first_code}'   "
               "(the Slack commands, charts saved as PNG)")
    click.echo(f"  TEAMPULS_ADMINS=U0CONSOLE1 {prefix} chat -c '/capacity {first_code}' "
               "-c '/capacity alle'   (the back office's view, as an admin)")
    click.echo("  teampuls demo --export demo-exports   (the CSV files, to import yourself)")


def main() -> None:
    teampuls(prog_name="teampuls")
