"""``pending_reads.details`` NOT NULL, as the model says (found by tests/common/test_migrations_match_models.py)

0013 created the column nullable while ``PendingRead.details`` is a required JSON (default ``{}``); every
writer sets it. Rows waiting now get ``{}`` where it is NULL, then the column is made NOT NULL (on SQLite
through a table copy: batch mode).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 16:10:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE pending_reads SET details = '{}' WHERE details IS NULL")
    with op.batch_alter_table('pending_reads') as batch:
        batch.alter_column('details', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_reads') as batch:
        batch.alter_column('details', existing_type=sa.JSON(), nullable=True)
