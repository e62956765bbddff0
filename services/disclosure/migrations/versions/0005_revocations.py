"""revocations: every decision.revoked disclosure heard of, kept so that its effect does not depend on
whether it arrives before or after the decision it revokes (DISC-6, issue 14)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 02:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'revocations',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.String(length=64), nullable=False),
        sa.Column('region_code', sa.String(length=9), nullable=False),
        sa.Column('body_id', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_to', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('event_id'))
    with op.batch_alter_table('revocations', schema=None) as batch_op:
        batch_op.create_index('ix_revocations_case_id', ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('revocations', schema=None) as batch_op:
        batch_op.drop_index('ix_revocations_case_id')
    op.drop_table('revocations')
