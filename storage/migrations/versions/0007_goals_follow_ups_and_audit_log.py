"""each team's morning (when reminders go out); goals, follow-ups with their reminders, the goals' history, and the audit log

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("morning_time", sa.String(length=5), nullable=True))
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)

    op.create_table('goals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('citizen_ref', sa.String(length=64), nullable=False),
    sa.Column('what_matters', sa.Text(), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('follow_up_by', sa.String(length=32), nullable=False),
    sa.Column('reassess_on', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'done')", name='goal_state_known'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index('ix_goals_citizen', ['citizen_ref'], unique=False)
        batch_op.create_index('ix_goals_team_state', ['team_id', 'state'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('citizen_ref', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_on_time', sa.Boolean(), nullable=True),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.CheckConstraint("kind IN ('task', 'reassessment')", name='follow_up_kind_known'),
    sa.CheckConstraint("state IN ('open', 'done')", name='follow_up_state_known'),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_citizen', ['citizen_ref'], unique=False)
        batch_op.create_index('ix_follow_ups_due', ['state', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_goal_id'), ['goal_id'], unique=False)
        batch_op.create_index('ix_follow_ups_team_state', ['team_id', 'state'], unique=False)

    op.create_table('goal_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('goal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('changed_by', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goal_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_changes_goal_id'), ['goal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('goal_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_changes_goal_id'))

    op.drop_table('goal_changes')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_team_state')
        batch_op.drop_index(batch_op.f('ix_follow_ups_goal_id'))
        batch_op.drop_index('ix_follow_ups_due')
        batch_op.drop_index('ix_follow_ups_citizen')

    op.drop_table('follow_ups')
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.drop_index('ix_goals_team_state')
        batch_op.drop_index('ix_goals_citizen')

    op.drop_table('goals')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')

    op.drop_table('audit_log')
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("morning_time")
