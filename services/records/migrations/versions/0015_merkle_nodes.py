"""records scale (issue 20): ``merkle_nodes`` — the stored hashes of the complete aligned subtrees at every
8th level (one row per 256 entries), so a replica keeps only the frontier of the Merkle tree in memory and
computes roots and proofs from tiles of stored hashes (REC-4). Existing logs: the rows are written at the
next rebuild of a replica's tree (one pass over the leaf hashes), or when a proof first needs them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'merkle_nodes',
        sa.Column('level', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('idx', sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column('hash', sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('merkle_nodes')
