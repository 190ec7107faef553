"""visits on SQLite as a WITHOUT ROWID table: the rows live in the visit_id key's own B-tree
instead of a rowid table beside a second B-tree for the key, so a load writes one tree, not two

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = "visit_id, team_id, citizen_ref, employee_id, date, week, minutes, status"


def _rebuild(without_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL tables have no rowid
    op.execute(
        "CREATE TABLE visits_rebuilt (visit_id VARCHAR(64) NOT NULL, team_id INTEGER NOT NULL, "
        "citizen_ref VARCHAR(64) NOT NULL, employee_id VARCHAR(64) NOT NULL, "
        "date DATE NOT NULL, week INTEGER NOT NULL, minutes INTEGER NOT NULL, "
        "status VARCHAR(16) NOT NULL, PRIMARY KEY (visit_id), "
        "FOREIGN KEY(team_id) REFERENCES teams (id))"
        + (" WITHOUT ROWID" if without_rowid else ""))
    op.execute(f"INSERT INTO visits_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM visits")
    op.execute("DROP TABLE visits")
    op.execute("ALTER TABLE visits_rebuilt RENAME TO visits")
    op.execute("CREATE INDEX ix_visits_team_week ON visits (team_id, week)")


def upgrade() -> None:
    _rebuild(without_rowid=True)


def downgrade() -> None:
    _rebuild(without_rowid=False)
