"""SM2 tree heads (issue 22, REC-4): public key columns hold 130 hex digits (the SM2 point 04 || x || y)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TABLES = (('tree_heads', False), ('witnessed_heads', False), ('witness_logs', True), ('province_witness', True))


def upgrade() -> None:
    for table, nullable in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('public_key', existing_type=sa.String(length=128), type_=sa.String(length=160),
                                  existing_nullable=nullable)


def downgrade() -> None:
    for table, nullable in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('public_key', existing_type=sa.String(length=160), type_=sa.String(length=128),
                                  existing_nullable=nullable)
