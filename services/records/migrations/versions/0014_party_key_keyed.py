"""party links under a keyed index (issue 22): ``party_links.party_key`` widens to 80 characters for
``k:`` + HMAC-SM3 of the party's ID number under the records index key. Links written before keep the
unkeyed SM3 until the records service re-keys them from the case's personal data (its background
re-encrypt timer, store.rekey_party_links); lookups find both meanwhile.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('party_links', schema=None) as batch_op:
        batch_op.alter_column('party_key', existing_type=sa.String(length=64), type_=sa.String(length=80),
                              existing_nullable=False)


def downgrade() -> None:
    # keyed links do not fit: they are dropped (the service re-links a case's parties as events arrive)
    op.execute("DELETE FROM party_links WHERE party_key LIKE 'k:%'")
    with op.batch_alter_table('party_links', schema=None) as batch_op:
        batch_op.alter_column('party_key', existing_type=sa.String(length=80), type_=sa.String(length=64),
                              existing_nullable=False)
