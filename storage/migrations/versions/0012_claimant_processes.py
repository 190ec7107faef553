"""claims name their process (host, pid, start), so that a dead claimant's claim is taken over
at once instead of after the lease

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("dashboard_deliveries", "alert_messages", "job_runs")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("claimed_host", sa.String(length=255), nullable=True))
        op.add_column(table, sa.Column("claimed_pid", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("claimed_start", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("claimed_start")
            batch_op.drop_column("claimed_pid")
            batch_op.drop_column("claimed_host")
