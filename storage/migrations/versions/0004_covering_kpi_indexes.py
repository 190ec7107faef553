"""covering indexes on kpi_values: a week of every KPI, and a KPI over weeks, read from the
index alone

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_values", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_values_week_kpi")
        batch_op.create_index("ix_kpi_values_week_kpi", ["week", "kpi", "team_id", "value"])
        batch_op.create_index("ix_kpi_values_kpi_week", ["kpi", "week", "team_id", "value"])


def downgrade() -> None:
    with op.batch_alter_table("kpi_values", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_values_kpi_week")
        batch_op.drop_index("ix_kpi_values_week_kpi")
        batch_op.create_index("ix_kpi_values_week_kpi", ["week", "kpi"])
