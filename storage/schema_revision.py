"""The newest schema revision, known without importing Alembic or SQLAlchemy."""

from __future__ import annotations

import pathlib

MIGRATIONS = pathlib.Path(__file__).with_name("migrations")


def head_revision() -> str:
    """The newest migration, read from the file names (``NNNN_name.py`` has revision NNNN)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
