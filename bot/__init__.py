"""The edge of teampuls: command line, settings and (later) the Slack surface.

Only this package reads the environment, the clock and opens database transactions.
"""

from bot.logs import install as _install_safe_logging

_install_safe_logging()  # no log record of the process carries an exception's message
