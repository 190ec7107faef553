"""import runs: when each import was committed and how many rows it brought, for /metrics

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("rows", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True,
                                   server_default=sa.func.current_timestamp()))


def downgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_column("finished_at")
        batch.drop_column("rows")
