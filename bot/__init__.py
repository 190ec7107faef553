"""The edge of teampuls: command line, settings and (later) the Slack surface.

Only this package reads the environment, the clock and opens database transactions.
"""
