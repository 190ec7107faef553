"""the back office: a role of its own, and its temp rules per team

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team_roles", schema=None) as batch_op:
        batch_op.drop_constraint("role_known", type_="check")
        batch_op.create_check_constraint(
            "role_known", "role IN ('coach', 'rapporter', 'back_office')")
    op.create_table('temp_rules',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('max_share', sa.Float(), nullable=False),
    sa.Column('weeks', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.String(length=32), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id')
    )


def downgrade() -> None:
    op.drop_table('temp_rules')
    op.execute("DELETE FROM team_roles WHERE role = 'back_office'")
    with op.batch_alter_table("team_roles", schema=None) as batch_op:
        batch_op.drop_constraint("role_known", type_="check")
        batch_op.create_check_constraint("role_known", "role IN ('coach', 'rapporter')")
