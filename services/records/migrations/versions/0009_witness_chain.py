"""witness chain: status and consistency proof of witnessed heads, the witness's state per log, and at a
city what the province witnessed of its log (issue 23)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('witnessed_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('from_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('from_root', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('proof', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_witnessed_heads_status'), ['status'], unique=False)
    op.create_table('witness_logs',
    sa.Column('log_id', sa.String(length=255), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=True),
    sa.Column('public_key', sa.String(length=128), nullable=True),
    sa.Column('key_history', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('forked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fork_reason', sa.Text(), nullable=True),
    sa.Column('fork_head_id', sa.Integer(), nullable=True),
    sa.Column('resolutions', sa.JSON(), nullable=False),
    sa.Column('last_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('log_id')
    )
    with op.batch_alter_table('witness_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_witness_logs_city_code'), ['city_code'], unique=False)
    op.create_table('province_witness',
    sa.Column('log_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=True),
    sa.Column('root_hash', sa.String(length=64), nullable=True),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('signature', sa.String(length=256), nullable=True),
    sa.Column('public_key', sa.String(length=128), nullable=True),
    sa.Column('algorithm', sa.String(length=32), nullable=True),
    sa.Column('fork_reason', sa.Text(), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_requests', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('log_id')
    )


def downgrade() -> None:
    op.drop_table('province_witness')
    with op.batch_alter_table('witness_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_witness_logs_city_code'))
    op.drop_table('witness_logs')
    with op.batch_alter_table('witnessed_heads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_witnessed_heads_status'))
        batch_op.drop_column('reason')
        batch_op.drop_column('proof')
        batch_op.drop_column('from_root')
        batch_op.drop_column('from_size')
        batch_op.drop_column('status')
