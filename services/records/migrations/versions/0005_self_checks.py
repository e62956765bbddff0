"""self checks: the latest self-check of the log against its signed tree heads, per checking process (REC-4, issue 14)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('self_checks',
    sa.Column('checker', sa.String(length=128), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('heads_checked', sa.Integer(), nullable=False),
    sa.Column('newest_head_size', sa.Integer(), nullable=True),
    sa.Column('consistent_through', sa.Integer(), nullable=False),
    sa.Column('first_sequence', sa.Integer(), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('checker')
    )
    with op.batch_alter_table('self_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_checks_checked_at'), ['checked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('self_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_checks_checked_at'))
    op.drop_table('self_checks')
