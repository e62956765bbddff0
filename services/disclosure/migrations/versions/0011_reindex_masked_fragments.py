"""re-index entries indexed with tokens of masked fragments (issue 19, DISC-9)

Entries indexed before masked fragments were left out of the search index (139****5678, 3204**********1234)
still matched "139" or "3204" through them. This revision computes their terms again and replaces their
index rows (services/disclosure/search.py ``reindex_masked``); only texts holding a mask character are read.
Nothing to undo: the old terms are what a downgrade would not want back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:50:00.000000
"""
from alembic import op

from services.disclosure import search


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    search.reindex_masked(op.get_bind())


def downgrade() -> None:
    pass
