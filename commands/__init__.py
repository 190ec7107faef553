"""What teampuls says: command handlers and their texts, independent of Slack.

Handlers parse text into typed arguments and return reply values; the Slack layer in ``bot/``
and the local console both render them. Nothing here imports Slack.
"""
