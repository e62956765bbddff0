"""records scale (issue 20): ``pending_reads`` — staff reads waiting to be appended as access entries
(REC-6) without the read taking the append lock.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pending_reads',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('case_id', sa.String(64), nullable=True),
        sa.Column('region_code', sa.String(9), nullable=False),
        sa.Column('body_id', sa.String(64), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entry', sa.Text(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.Column('salt', sa.String(32), nullable=True),
        sa.Column('personal', sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('pending_reads')
