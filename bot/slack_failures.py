"""Sorting a failed Web API call: permanent (Slack refused; trying again cannot help until
someone acts — not_in_channel, is_archived, invalid_auth, ...) or passing (a rate limit
outlasting the client's retries, a server error, no answer; Slack may or may not have acted).
The weekly dashboard and the coach alerts both decide by this what to retry."""

from __future__ import annotations

import urllib.error

from slack_sdk.errors import SlackApiError

# Error codes that Slack answers with HTTP 200 and that pass.
PASSING = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                     "request_timeout"})


class Permanent(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Passing(Exception):
    pass


def sorted_failure(error: Exception) -> Permanent | Passing | None:
    """What ``error`` of a Web API call is; None for an error that is not Slack's (a bug)."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or "")
        status = error.response.status_code
        if status < 500 and status != 429 and code not in PASSING:
            return Permanent(code or f"HTTP {status}")
        return Passing(f"Slack answered {status} {code}".strip())
    if isinstance(error, (urllib.error.URLError, OSError, TimeoutError)):
        return Passing(f"no answer from Slack: {error}")
    return None
