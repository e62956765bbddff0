"""coordination across bodies, regions and tiers (issue 18; COORD-1, COORD-2, COORD-3): clues sent between
bodies (违法线索), inspection results shared between bodies (结果互认), jurisdiction disputes (管辖争议) and
transfers to judicial organs and discipline inspection (行刑衔接、移送纪检监察).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coordination_clues',
    sa.Column('clue_id', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('from_body_id', sa.String(length=64), nullable=False),
    sa.Column('from_region_code', sa.String(length=9), nullable=False),
    sa.Column('to_body_id', sa.String(length=64), nullable=False),
    sa.Column('to_region_code', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('clue_id')
    )
    with op.batch_alter_table('coordination_clues', schema=None) as batch_op:
        for column in ('from_body_id', 'from_region_code', 'to_body_id', 'to_region_code', 'status'):
            batch_op.create_index(batch_op.f(f'ix_coordination_clues_{column}'), [column], unique=False)
    op.create_table('coordination_inspections',
    sa.Column('result_id', sa.String(length=64), nullable=False),
    sa.Column('body_id', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=9), nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=False),
    sa.Column('matter', sa.String(length=200), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('result_id')
    )
    with op.batch_alter_table('coordination_inspections', schema=None) as batch_op:
        for column in ('body_id', 'region_code', 'party_id', 'inspected_on'):
            batch_op.create_index(batch_op.f(f'ix_coordination_inspections_{column}'), [column], unique=False)
    op.create_table('coordination_disputes',
    sa.Column('dispute_id', sa.String(length=64), nullable=False),
    sa.Column('coordinator_region', sa.String(length=9), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_ref', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dispute_id')
    )
    with op.batch_alter_table('coordination_disputes', schema=None) as batch_op:
        for column in ('coordinator_region', 'source_ref', 'status'):
            batch_op.create_index(batch_op.f(f'ix_coordination_disputes_{column}'), [column], unique=False)
    op.create_table('coordination_transfers',
    sa.Column('transfer_id', sa.String(length=64), nullable=False),
    sa.Column('body_id', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('source_key', sa.String(length=128), nullable=True),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('transfer_id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('coordination_transfers', schema=None) as batch_op:
        for column in ('body_id', 'region_code', 'status', 'due'):
            batch_op.create_index(batch_op.f(f'ix_coordination_transfers_{column}'), [column], unique=False)


def downgrade() -> None:
    for table in ('coordination_transfers', 'coordination_disputes', 'coordination_inspections',
                  'coordination_clues'):
        op.drop_table(table)
