"""Configuration: one frozen object, built once at the entry point from the environment.

Every variable is declared in ``VARIABLES``; ``.env.example`` documents the same list, and a test
keeps the two in step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import NamedTuple

from commands.i18n import LANGUAGES


class Variable(NamedTuple):
    name: str
    default: str
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", "sqlite:///teampuls.db",
             "SQLAlchemy URL of the database; a SQLite file by default, "
             "postgresql+psycopg://user@host/db for PostgreSQL."),
    Variable("SLACK_BOT_TOKEN", "", "Bot token (xoxb-...) of the Slack app."),
    Variable("SLACK_APP_TOKEN", "", "App-level token (xapp-...); when set the bot uses Socket Mode."),
    Variable("SLACK_SIGNING_SECRET", "", "Signing secret; needed for HTTP mode."),
    Variable("SLACK_API_BASE_URL", "",
             "Base URL of Slack's Web API, ending in /; empty means Slack's own "
             "(set it for GovSlack or a test stand-in)."),
    Variable("TEAMPULS_HTTP_HOST", "127.0.0.1",
             "HTTP mode: the address to listen on; 0.0.0.0 listens on every interface (behind "
             "a proxy that terminates TLS, set this only when the proxy runs elsewhere)."),
    Variable("TEAMPULS_LANGUAGE", "da", "Default language of messages: da, nb or en."),
    Variable("TEAMPULS_TIMEZONE", "Europe/Copenhagen", "Default time zone of new teams (IANA name)."),
    Variable("TEAMPULS_ADMINS", "", "Comma-separated Slack user ids allowed to run admin commands."),
    Variable("TEAMPULS_IMPORT_MAX_MB", "1024", "Largest import file accepted, in megabytes."),
    Variable("TEAMPULS_POST_GRACE_DAYS", "3",
             "Days after a team's posting time in which a missed weekly dashboard is still "
             "posted (after downtime); later, that week is skipped and logged."),
    Variable("TEAMPULS_POST_LEASE_SECONDS", "900",
             "Seconds after which a weekly dashboard claimed by a poster that went quiet "
             "(crashed) may be taken over by another; longer than one post can take."),
    Variable("TEAMPULS_RETENTION_MONTHS", "12",
             "Months after closing that goals and follow-ups are deleted by the daily job."),
    Variable("TEAMPULS_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
    Variable("TEAMPULS_LOG_FORMAT", "text",
             "text: one readable line per record; json: one JSON object per line (time, "
             "level, logger, message, and an exception's classes and traceback)."),
)


SUPPORTED_BACKENDS = ("sqlite", "postgresql", "postgres")  # the schemes of DATABASE_URL


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    slack_bot_token: str
    slack_app_token: str
    slack_signing_secret: str
    slack_api_base_url: str
    language: str
    timezone: str
    admins: frozenset[str]
    import_max_bytes: int
    log_level: str
    post_grace_days: float = 3.0
    post_lease_seconds: int = 900
    retention_months: int = 12
    http_host: str = "127.0.0.1"
    log_format: str = "text"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; unset or empty values take the default."""
        raw = {v.name: (environ.get(v.name) or v.default).strip() for v in VARIABLES}

        language = raw["TEAMPULS_LANGUAGE"].lower()
        if language not in LANGUAGES:
            raise SettingsError(
                f"TEAMPULS_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {language!r}")

        timezone = raw["TEAMPULS_TIMEZONE"]
        check_timezone(timezone, "TEAMPULS_TIMEZONE")

        base_url = raw["SLACK_API_BASE_URL"]
        if base_url and not (base_url.startswith(("http://", "https://")) and base_url.endswith("/")):
            raise SettingsError(
                f"SLACK_API_BASE_URL must be an http(s) URL ending in '/', not {base_url!r}")

        max_mb = _whole_above_zero(raw, "TEAMPULS_IMPORT_MAX_MB", "megabytes")

        log_level = raw["TEAMPULS_LOG_LEVEL"].upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"TEAMPULS_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, "
                                f"not {raw['TEAMPULS_LOG_LEVEL']!r}")

        try:
            grace = float(raw["TEAMPULS_POST_GRACE_DAYS"])
        except ValueError:
            grace = -1.0
        if not 0 <= grace <= 28:
            raise SettingsError(
                f"TEAMPULS_POST_GRACE_DAYS must be a number of days from 0 to 28, "
                f"not {raw['TEAMPULS_POST_GRACE_DAYS']!r}")

        log_format = raw["TEAMPULS_LOG_FORMAT"].lower()
        if log_format not in ("text", "json"):
            raise SettingsError(f"TEAMPULS_LOG_FORMAT must be text or json, "
                                f"not {raw['TEAMPULS_LOG_FORMAT']!r}")

        lease = _whole_above_zero(raw, "TEAMPULS_POST_LEASE_SECONDS", "seconds")
        retention = _whole_above_zero(raw, "TEAMPULS_RETENTION_MONTHS", "months")

        database_url = raw["DATABASE_URL"]
        if "://" not in database_url:
            raise SettingsError(
                f"DATABASE_URL must be a database URL such as sqlite:///teampuls.db, "
                f"not {database_url!r}")
        backend = database_url.split("://", 1)[0].split("+", 1)[0].casefold()
        if backend not in SUPPORTED_BACKENDS:
            raise SettingsError(
                f"DATABASE_URL names the database {backend!r}, which teampuls does not support; "
                f"use SQLite (sqlite:///teampuls.db) or PostgreSQL "
                f"(postgresql://user@host:5432/teampuls)")

        return cls(
            database_url=database_url,
            slack_bot_token=raw["SLACK_BOT_TOKEN"],
            slack_app_token=raw["SLACK_APP_TOKEN"],
            slack_signing_secret=raw["SLACK_SIGNING_SECRET"],
            slack_api_base_url=base_url,
            language=language,
            timezone=timezone,
            admins=frozenset(a.strip() for a in raw["TEAMPULS_ADMINS"].split(",") if a.strip()),
            import_max_bytes=max_mb * 1024 * 1024,
            log_level=log_level,
            post_grace_days=grace,
            post_lease_seconds=lease,
            retention_months=retention,
            http_host=raw["TEAMPULS_HTTP_HOST"],
            log_format=log_format,
        )


OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def refuse_oauth(environ: Mapping[str, str]) -> None:
    """teampuls serves one workspace with its bot token. With SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET in the environment (even empty) slack-bolt would switch to installing
    the app through OAuth and drop the token: refused, naming them."""
    found = [name for name in OAUTH_VARIABLES if name in environ]
    if found:
        raise SettingsError(
            f"{' and '.join(found)} {'is' if len(found) == 1 else 'are'} set: teampuls serves "
            "one workspace with SLACK_BOT_TOKEN and does not install through OAuth; remove "
            f"{' and '.join(OAUTH_VARIABLES)} from the environment and the env file")


def _whole_above_zero(raw: Mapping[str, str], name: str, unit: str) -> int:
    try:
        value = int(raw[name])
    except ValueError:
        value = 0
    if value <= 0:
        raise SettingsError(f"{name} must be a whole number of {unit} above 0, not {raw[name]!r}")
    return value


def check_timezone(name: str, where: str) -> None:
    """Raise SettingsError unless ``name`` is an IANA time zone known to this machine."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{where}: {name!r} is not a known time zone "
                            f"(use an IANA name such as Europe/Oslo)") from None
