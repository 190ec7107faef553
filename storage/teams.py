"""Teams, their Slack channels and the people with roles in them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from storage.errors import TeamError
from storage.importers.contract import TEAM_CODE
from storage.models import ROLES, ChannelMember, Team, TeamChannel, TeamRole
from storage.national_ids import looks_like_national_id

LANGUAGES = ("da", "nb", "en")


def get_team(session: Session, code: str) -> Team:
    team = session.scalar(select(Team).where(Team.code == code)
                          .options(selectinload(Team.channels), selectinload(Team.roles)))
    if team is None:
        known = session.scalars(select(Team.code).order_by(Team.code)).all()
        hint = f"; known teams: {', '.join(known)}" if known else "; no teams exist yet"
        raise TeamError(f"no team with the code {code!r}{hint}")
    return team


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.code)
                                .options(selectinload(Team.channels), selectinload(Team.roles))))


@dataclass(frozen=True)
class TeamChanges:
    name: str | None = None
    language: str | None = None
    timezone: str | None = None
    post_weekday: int | None = None  # 0 Monday ... 6 Sunday
    post_time: str | None = None  # HH:MM
    morning_time: str | None = None  # HH:MM
    add_channels: tuple[str, ...] = ()
    remove_channels: tuple[str, ...] = ()
    add_roles: tuple[tuple[str, str], ...] = ()  # (role, user id)
    remove_roles: tuple[tuple[str, str], ...] = ()


NATIONAL_ID = ("looks like a CPR number or fødselsnummer; those are never stored "
               "(contract section 4)")


def add_team(session: Session, code: str, changes: TeamChanges) -> Team:
    code = code.strip()
    if looks_like_national_id(code):
        raise TeamError(f"the team code {NATIONAL_ID}")
    if not TEAM_CODE.match(code):
        raise TeamError(f"{code!r} is not a team code (letters, digits, '-', '_' and '.')")
    if session.scalar(select(Team.id).where(Team.code == code)) is not None:
        raise TeamError(f"the team {code} exists already; change it with 'teampuls team edit'")
    team = Team(code=code, name=changes.name or code)
    session.add(team)
    session.flush()
    return edit_team(session, team, changes)


def edit_team(session: Session, team: Team, changes: TeamChanges) -> Team:
    if changes.name is not None:
        if not changes.name.strip():
            raise TeamError("a team's name cannot be empty")
        if looks_like_national_id(changes.name):
            raise TeamError(f"the team's name {NATIONAL_ID}")
        team.name = changes.name.strip()
    if changes.language is not None:
        if changes.language not in LANGUAGES:
            raise TeamError(f"the language must be one of {', '.join(LANGUAGES)}, "
                            f"not {changes.language!r}")
        team.language = changes.language
    if changes.timezone is not None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(changes.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise TeamError(f"{changes.timezone!r} is not a known time zone "
                            "(use an IANA name such as Europe/Oslo)") from None
        team.timezone = changes.timezone
    if changes.post_weekday is not None:
        if changes.post_weekday not in range(7):
            raise TeamError(f"the posting day must be 0 (Monday) to 6 (Sunday), "
                            f"not {changes.post_weekday!r}")
        team.post_weekday = changes.post_weekday
    for name in ("post_time", "morning_time"):
        value = getattr(changes, name)
        if value is not None:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                raise TeamError(f"the {name.replace('_', ' ')} must be HH:MM, not {value!r}")
            setattr(team, name, value)
    for channel in _slack_ids(changes.add_channels, "channel", ("C", "G")):
        linked = session.get(TeamChannel, channel)
        if linked is not None and linked.team_id != team.id:
            other = session.get(Team, linked.team_id)
            raise TeamError(f"the channel {channel} is linked to the team {other.code} already")
        if linked is None:
            team.channels.append(TeamChannel(channel_id=channel))
    removing = set(_slack_ids(changes.remove_channels, "channel", ("C", "G")))
    team.channels = [c for c in team.channels if c.channel_id not in removing]
    for role, user in changes.add_roles:
        _check_role(role)
        (user,) = _slack_ids([user], "user", ("U", "W"))
        if not any(r.role == role and r.user_id == user for r in team.roles):
            team.roles.append(TeamRole(role=role, user_id=user))
    drop = {(role, user) for role, user in changes.remove_roles}
    team.roles = [r for r in team.roles if (r.role, r.user_id) not in drop]
    session.flush()
    return team


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise TeamError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")


def _slack_ids(values: Iterable[str], what: str, prefixes: tuple[str, ...]) -> list[str]:
    out = []
    for value in values:
        value = value.strip().lstrip("#@")
        if not (value[:1] in prefixes and value[1:].isalnum() and 8 <= len(value) <= 24
                and value.upper() == value):
            example = f"{prefixes[0]}0123ABCD"
            message = ("{value} is not a Slack user id (like {example}); copy it from the "
                       "user's details in Slack") if what == "user" else (
                "{value} is not a Slack channel id (like {example}); copy it from the "
                "channel's details in Slack")
            raise TeamError(message.format(value=repr(value), example=example), message,
                            value=repr(value), example=example)
        out.append(value)
    return out


# -- where a command comes from -----------------------------------------------------------------

def team_of_channel(session: Session, channel_id: str) -> Team | None:
    linked = session.get(TeamChannel, channel_id)
    return None if linked is None else session.get(Team, linked.team_id)


def teams_of_user(session: Session, user_id: str) -> list[Team]:
    """The teams whose linked channels the user is a member of, by code."""
    return list(session.scalars(
        select(Team).join(TeamChannel).join(ChannelMember)
        .where(ChannelMember.user_id == user_id).distinct().order_by(Team.code)))


def linked_channels(session: Session) -> list[str]:
    return list(session.scalars(select(TeamChannel.channel_id).order_by(TeamChannel.channel_id)))


def set_channel_members(session: Session, channel_id: str, user_ids: Iterable[str]) -> None:
    """Replace the stored members of a linked channel (unlinked channels are not kept)."""
    if session.get(TeamChannel, channel_id) is None:
        return
    session.execute(delete(ChannelMember).where(ChannelMember.channel_id == channel_id))
    session.add_all(ChannelMember(channel_id=channel_id, user_id=u) for u in sorted(set(user_ids)))
    session.flush()


def add_channel_member(session: Session, channel_id: str, user_id: str) -> None:
    if session.get(TeamChannel, channel_id) is None:
        return
    if session.get(ChannelMember, (channel_id, user_id)) is None:
        session.add(ChannelMember(channel_id=channel_id, user_id=user_id))
        session.flush()


def remove_channel_member(session: Session, channel_id: str, user_id: str) -> None:
    session.execute(delete(ChannelMember).where(ChannelMember.channel_id == channel_id,
                                                ChannelMember.user_id == user_id))
