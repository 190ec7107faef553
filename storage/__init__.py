"""Persistence of teampuls: SQLAlchemy 2 models, engine and sessions, queries, migrations and
the importers of the back office's exports.

Functions here take a ``Session`` or ``Connection`` and never commit: transactions are opened
and committed at the edge (``with session_factory.begin()``).
"""
